package cloudsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"
)

// FaultPlan's shares of the total failure probability, by kind. They add up
// to 1.
const (
	planThrottle    = 0.35
	planServerError = 0.25
	planBadToken    = 0.10
	planLoopToken   = 0.05
	planSlow        = 0.05
	planMalformed   = 0.10
	planGarbage     = 0.10

	// planSlowDelay is long enough to outlast any sensible per-request
	// timeout in a test and short enough not to stall one that waits.
	planSlowDelay = 2 * time.Second
)

// FaultPlan returns Faults under which a request carrying a NextToken fails
// with probability rate (clamped to [0, 1]), the failures spread over the
// kinds as throttling 35%, server errors 25%, expired token 10%, looping
// token 5%, slow answer 5% (SlowDelay 2s), truncated JSON 10% and non-JSON
// garbage 10%. With rate 0.25 about a quarter of such requests fail, a
// slow one counting as failed because a client with a timeout under two
// seconds gives up on it.
//
// The rates it sets follow the precedence documented on Faults: slow is
// drawn independently and overlaid, so the other kinds together claim
// 0.95·rate/(1−0.05·rate) of the requests and P(slow or other) is exactly
// rate; each conditional rate is divided by the share the earlier steps
// left over. Consequently each outcome counter in Stats sees its kind's
// share divided by 1−0.05·rate (slow requests also land in an outcome),
// and a request without NextToken, which cannot draw the two token kinds,
// fails less often: about 0.21 at rate 0.25.
//
// Latency, ShiftEvery and ShiftBy are left zero; callers add them.
func FaultPlan(rate float64) Faults {
	if math.IsNaN(rate) || rate <= 0 {
		return Faults{}
	}
	rate = min(rate, 1)
	slow := planSlow * rate
	scale := rate / (1 - slow) // unconditional share per unit of plan share
	claimed := 0.0             // probability taken by earlier steps
	next := func(share float64) float64 {
		q := share * scale
		p := q / (1 - claimed)
		claimed += q
		return min(p, 1)
	}
	// Throttling and server errors partition one draw, so their rates are
	// the unconditional shares themselves.
	f := Faults{
		SlowRate:  slow,
		SlowDelay: planSlowDelay,
	}
	f.ThrottleRate = planThrottle * scale
	f.ServerErrorRate = planServerError * scale
	claimed = f.ThrottleRate + f.ServerErrorRate
	f.BadTokenRate = next(planBadToken)
	f.LoopTokenRate = next(planLoopToken)
	f.GarbageRate = next(planGarbage)
	f.MalformedRate = next(planMalformed)
	return f
}

// bodyFault is an injected fault on an otherwise successful answer.
type bodyFault int

const (
	faultNone bodyFault = iota
	faultLoopToken
	faultGarbage
	faultMalformed
)

// faultDraw is one request's injected fate.
type faultDraw struct {
	err   *apiError // an injected error answer, or nil
	body  bodyFault // applies only when err is nil and the request succeeds
	delay time.Duration
}

// drawFaults decides this request's injected faults in the precedence
// order documented on Faults. It always consumes the same number of draws
// (four from the original stream, three from the second), so the sequence
// of outcomes depends only on the seed and the order of requests, not on
// the rates' history; and because the later kinds draw from their own
// stream, a configuration that leaves them zero sees exactly the faults it
// saw before they existed.
func (s *Sim) drawFaults(hasToken bool) faultDraw {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	u1, u2, u3, u4 := s.faultRNG.float(), s.faultRNG.float(), s.faultRNG.float(), s.faultRNG.float()
	uSlow, uLoop, uGarbage := s.faultRNG2.float(), s.faultRNG2.float(), s.faultRNG2.float()

	d := faultDraw{delay: f.Latency}
	if uSlow < f.SlowRate {
		s.stats.Slow++
		d.delay += f.SlowDelay
	}
	switch {
	case u1 < f.ThrottleRate:
		s.throttles++
		if s.throttles%2 == 1 {
			d.err = errThrottleUser
		} else {
			d.err = errThrottleAPI
		}
	case u1 < f.ThrottleRate+f.ServerErrorRate:
		if u2 < 0.5 {
			d.err = errDispatch
		} else {
			d.err = errUnavailable
		}
	case hasToken && u3 < f.BadTokenRate:
		d.err = errNextToken
	case hasToken && uLoop < f.LoopTokenRate:
		d.body = faultLoopToken
	case uGarbage < f.GarbageRate:
		d.body = faultGarbage
	case u4 < f.MalformedRate:
		d.body = faultMalformed
	}
	return d
}

// countShiftPage records a successfully served token-mode page and shifts
// the clock when ShiftEvery such pages have been served. It must be called
// with s.mu held, after the page has been rendered, so the page itself
// still shows the world before the shift.
func (s *Sim) countShiftPage() {
	f := s.faults
	if f.ShiftEvery <= 0 || f.ShiftBy <= 0 {
		return
	}
	s.shiftPages++
	if s.shiftPages < f.ShiftEvery {
		return
	}
	s.shiftPages = 0
	s.stats.Shifts++
	s.advanceTo(s.now.Add(f.ShiftBy))
}

// garbageBody is what a load balancer in front of the API sends when its
// upstream fails: HTML, not the API's JSON, yet here with status 200.
const garbageBody = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n" +
	"<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"

func writeGarbage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, garbageBody)
}

// faultsJSON is Faults on the control surface: snake_case names as in
// Stats, durations as Go duration strings ("2s", "90m").
type faultsJSON struct {
	ThrottleRate    float64 `json:"throttle_rate"`
	ServerErrorRate float64 `json:"server_error_rate"`
	BadTokenRate    float64 `json:"bad_token_rate"`
	LoopTokenRate   float64 `json:"loop_token_rate"`
	GarbageRate     float64 `json:"garbage_rate"`
	MalformedRate   float64 `json:"malformed_rate"`
	SlowRate        float64 `json:"slow_rate"`
	SlowDelay       string  `json:"slow_delay"`
	Latency         string  `json:"latency"`
	ShiftEvery      int     `json:"shift_every"`
	ShiftBy         string  `json:"shift_by"`
}

func faultsToJSON(f Faults) faultsJSON {
	return faultsJSON{
		ThrottleRate:    f.ThrottleRate,
		ServerErrorRate: f.ServerErrorRate,
		BadTokenRate:    f.BadTokenRate,
		LoopTokenRate:   f.LoopTokenRate,
		GarbageRate:     f.GarbageRate,
		MalformedRate:   f.MalformedRate,
		SlowRate:        f.SlowRate,
		SlowDelay:       f.SlowDelay.String(),
		Latency:         f.Latency.String(),
		ShiftEvery:      f.ShiftEvery,
		ShiftBy:         f.ShiftBy.String(),
	}
}

func (j faultsJSON) faults() (Faults, error) {
	f := Faults{
		ThrottleRate:    j.ThrottleRate,
		ServerErrorRate: j.ServerErrorRate,
		BadTokenRate:    j.BadTokenRate,
		LoopTokenRate:   j.LoopTokenRate,
		GarbageRate:     j.GarbageRate,
		MalformedRate:   j.MalformedRate,
		SlowRate:        j.SlowRate,
		ShiftEvery:      j.ShiftEvery,
	}
	for _, d := range []struct {
		name string
		in   string
		out  *time.Duration
	}{
		{"slow_delay", j.SlowDelay, &f.SlowDelay},
		{"latency", j.Latency, &f.Latency},
		{"shift_by", j.ShiftBy, &f.ShiftBy},
	} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil {
			return Faults{}, fmt.Errorf("%s: invalid duration %q, e.g. 2s or 90m", d.name, d.in)
		}
		*d.out = v
	}
	if err := f.validate(""); err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			return Faults{}, fmt.Errorf("%s %s", ce.Field, ce.Reason)
		}
		return Faults{}, err
	}
	return f, nil
}

// serveFaults answers /_sim/faults: GET shows the current faults, POST
// replaces them. A POST starts from no faults, or from FaultPlan(plan) when
// the query has plan=<rate>, and then applies the JSON body's fields, if
// any; unlike SetFaults it rejects out-of-range values instead of clamping.
func (s *Sim) serveFaults(w http.ResponseWriter, r *http.Request, reply func(int, any)) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		reply(http.StatusOK, faultsToJSON(s.Config().Faults))
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		reply(http.StatusMethodNotAllowed, map[string]string{"error": "use GET or POST for " + r.URL.Path})
		return
	}
	bad := func(err error) { reply(http.StatusBadRequest, map[string]string{"error": err.Error()}) }
	var base Faults
	if p := r.URL.Query().Get("plan"); p != "" {
		rate, err := strconv.ParseFloat(p, 64)
		if err != nil || math.IsNaN(rate) || rate < 0 || rate > 1 {
			bad(fmt.Errorf("invalid plan %q, want a failure rate in [0, 1], e.g. plan=0.25", p))
			return
		}
		base = FaultPlan(rate)
	}
	j := faultsToJSON(base)
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(payload) > maxBodyBytes {
		bad(errors.New("the request body could not be read"))
		return
	}
	if len(payload) > 0 {
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&j); err != nil {
			bad(fmt.Errorf("invalid faults JSON: %v", err))
			return
		}
	}
	f, err := j.faults()
	if err != nil {
		bad(err)
		return
	}
	s.SetFaults(f)
	reply(http.StatusOK, faultsToJSON(s.Config().Faults))
}
