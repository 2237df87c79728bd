package schedule

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest"
)

// health is what /healthz reports: the outcome of the last cycles, so a
// daemon whose every cycle fails is not called healthy.
//
//   - 200 {"status":"starting"} until the first cycle ends;
//   - 200 {"status":"ok","last_success":T} when the last cycle had no failed target;
//   - 503 {"status":"failing","failed_cycles":N,"last_success":T|null,"failures":[...]}
//     when it had, N counting the failing cycles in a row.
type health struct {
	mu          sync.Mutex
	cycles      int
	failing     int
	lastSuccess *time.Time
	failures    []failure
}

type failure struct {
	Target string `json:"target"`
	Error  string `json:"error"`
}

// record takes one cycle's results. A cycle cut short by shutdown says
// nothing about health and is ignored.
func (h *health) record(results []ingest.Result, interrupted bool) {
	if interrupted {
		return
	}
	var failed []failure
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, failure{Target: r.Target.String(), Error: r.Err.Error()})
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cycles++
	h.failures = failed
	if len(failed) > 0 {
		h.failing++
		return
	}
	h.failing = 0
	now := time.Now().UTC()
	h.lastSuccess = &now
}

func (h *health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	body := map[string]any{"status": "ok", "last_success": h.lastSuccess}
	code := http.StatusOK
	switch {
	case h.cycles == 0:
		body = map[string]any{"status": "starting"}
	case h.failing > 0:
		code = http.StatusServiceUnavailable
		body["status"], body["failed_cycles"], body["failures"] = "failing", h.failing, h.failures
	}
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
