package cloudsim

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/tea"
)

// outcomeSum is the sum Stats documents to equal Requests.
func outcomeSum(st Stats) int64 {
	return st.Served + st.Throttled + st.ServerErrors + st.AuthFailures + st.BadRequests +
		st.Malformed + st.LoopTokens + st.Garbage
}

// page is the part of a list answer the fault tests look at.
type page struct {
	NextToken   string
	Invocations struct {
		Invocation []struct{ InvokeId string }
	}
	Code string
}

func decodePage(t testing.TB, w *httptest.ResponseRecorder) page {
	t.Helper()
	var p page
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("status %d, body %q: %v", w.Code, w.Body.String(), err)
	}
	return p
}

func (p page) ids() []string {
	var out []string
	for _, inv := range p.Invocations.Invocation {
		out = append(out, inv.InvokeId)
	}
	return out
}

// tokenQuery is a token-mode list request for cn-hangzhou.
func tokenQuery(max, token string) map[string]string {
	q := map[string]string{"RegionId": "cn-hangzhou", "MaxResults": max}
	if token != "" {
		q["NextToken"] = token
	}
	return q
}

func TestLoopToken(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.SendsPerDay = 100 })
	s.Advance(24 * time.Hour)
	get := func(token string) (page, *httptest.ResponseRecorder) {
		w := do(s, signedRequest(t, "h:1", tokenQuery("30", token), defaultCreds, nil))
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		return decodePage(t, w), w
	}
	// Collect every token of a clean walk, with the page each one yields.
	var tokens []string
	want := map[string][]string{}
	for p, _ := get(""); p.NextToken != ""; {
		tok := p.NextToken
		tokens = append(tokens, tok)
		p, _ = get(tok)
		want[tok] = p.ids()
	}
	if len(tokens) < 2 {
		t.Fatalf("setup: only %d tokens", len(tokens))
	}

	s.SetFaults(Faults{LoopTokenRate: 1})
	first, _ := get("")
	if first.NextToken == "" || first.NextToken != tokens[0] {
		t.Errorf("a first page (no NextToken) must not loop: %q", first.NextToken)
	}
	// Every page, including the last one, comes back complete and hands
	// back the token it was asked with.
	for _, tok := range tokens {
		p, _ := get(tok)
		if p.NextToken != tok {
			t.Fatalf("NextToken %q, want the request's own %q", p.NextToken, tok)
		}
		if !equalStrings(p.ids(), want[tok]) {
			t.Fatalf("looping page %v, want the normal page %v", p.ids(), want[tok])
		}
	}
	// An invalid token is still rejected rather than looped.
	w := do(s, signedRequest(t, "h:1", tokenQuery("30", "bm9wZQ"), defaultCreds, nil))
	if p := decodePage(t, w); w.Code != 400 || p.Code != "InvalidParameter.NextToken" {
		t.Errorf("invalid token under LoopTokenRate: %d %s", w.Code, p.Code)
	}

	// The SDK takes the page at face value: the same token, forever.
	c := newClient(t, serve(t, s), defaultCreds)
	last := tokens[len(tokens)-1]
	for range 3 {
		resp, err := c.DescribeSendFileResults(&request{RegionId: tea.String("cn-hangzhou"), NextToken: tea.String(last)})
		if err != nil {
			t.Fatal(err)
		}
		if got := tea.StringValue(resp.Body.NextToken); got != last {
			t.Fatalf("SDK saw NextToken %q, want %q", got, last)
		}
	}
	st := s.Stats()
	if want := int64(len(tokens) + 3); st.LoopTokens != want {
		t.Errorf("LoopTokens = %d, want %d", st.LoopTokens, want)
	}
	if st.Requests != outcomeSum(st) {
		t.Errorf("stats do not add up: %+v", st)
	}
}

func TestSlowRequests(t *testing.T) {
	t.Parallel()
	// Without a client timeout a slow request is answered normally.
	s := newSim(t, func(c *Config) { c.Faults = Faults{SlowRate: 1, SlowDelay: 5 * time.Millisecond} })
	s.Advance(24 * time.Hour)
	if w := do(s, signedRequest(t, "h:1", tokenQuery("5", ""), defaultCreds, nil)); w.Code != 200 || !json.Valid(w.Body.Bytes()) {
		t.Fatalf("slow request: %d %s", w.Code, w.Body)
	}
	if st := s.Stats(); st.Slow != 1 || st.Served != 1 || st.Requests != outcomeSum(st) {
		t.Errorf("slow is counted besides the outcome: %+v", st)
	}

	// The wait ends as soon as the client has gone away, however long
	// SlowDelay is (or this test would hang).
	s.SetFaults(Faults{SlowRate: 1, SlowDelay: time.Hour})
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if w := do(s, signedRequest(t, "h:1", tokenQuery("5", ""), defaultCreds, nil).WithContext(gone)); w.Code != 200 {
		t.Fatalf("slow request after the client left: %d", w.Code)
	}
	if st := s.Stats(); st.Slow != 2 || st.Served != 2 {
		t.Errorf("stats %+v", st)
	}

	// A client whose timeout is shorter than SlowDelay gives up, over the
	// network and through the SDK.
	s = newSim(t, func(c *Config) { c.Faults = Faults{SlowRate: 1, SlowDelay: time.Hour} })
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ep := strings.TrimPrefix(srv.URL, "http://")
	r := signedRequest(t, ep, tokenQuery("5", ""), defaultCreds, nil)
	r.RequestURI = ""
	hc := &http.Client{Timeout: 200 * time.Millisecond}
	resp, err := hc.Do(r)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a slow answer reached a client with a short timeout: %d", resp.StatusCode)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want a timeout, got %v", err)
	}
	c := newClient(t, ep, defaultCreds)
	_, err = c.DescribeSendFileResultsWithOptions(&request{RegionId: tea.String("cn-hangzhou")},
		&util.RuntimeOptions{ReadTimeout: tea.Int(200), ConnectTimeout: tea.Int(5000)})
	if err == nil {
		t.Fatal("the SDK got a slow answer despite its read timeout")
	}
	// Close waits for the handlers, which end when their clients leave.
	// On a very busy machine a client may give up before its request
	// arrives, so only the relation between the counters is certain.
	srv.Close()
	if st := s.Stats(); st.Requests > 2 || st.Slow != st.Requests || st.Requests != outcomeSum(st) {
		t.Errorf("stats %+v", st)
	}
}

func TestGarbageBody(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.Faults = Faults{GarbageRate: 1, MalformedRate: 1} })
	s.Advance(24 * time.Hour)
	w := do(s, signedRequest(t, "h:1", tokenQuery("5", ""), defaultCreds, nil))
	body := w.Body.Bytes()
	if w.Code != 200 || json.Valid(body) || !strings.Contains(string(body), "502 Bad Gateway") {
		t.Fatalf("garbage: %d %q", w.Code, body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("garbage Content-Type %q", ct)
	}
	// Not even the start of a JSON document, unlike a truncated body.
	var v any
	if err := json.Unmarshal(body, &v); err == nil || strings.HasPrefix(strings.TrimSpace(string(body)), "{") {
		t.Errorf("garbage looks like JSON: %q", body)
	}
	// A genuine error keeps its answer.
	w = do(s, signedRequest(t, "h:1", tokenQuery("0", ""), defaultCreds, nil))
	if p := decodePage(t, w); w.Code != 400 || p.Code != "InvalidParameter.MaxResults" {
		t.Errorf("a bad request under GarbageRate: %d %s", w.Code, p.Code)
	}
	c := newClient(t, serve(t, s), defaultCreds)
	if _, err := c.DescribeSendFileResults(&request{RegionId: tea.String("cn-hangzhou")}); err == nil {
		t.Error("the SDK accepted an HTML body")
	}
	if st := s.Stats(); st.Garbage != 2 || st.Malformed != 0 || st.BadRequests != 1 || st.Requests != outcomeSum(st) {
		t.Errorf("garbage takes precedence over malformed; stats %+v", st)
	}
}

func TestRetryAfterOnThrottling(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.Faults = Faults{ThrottleRate: 1} })
	codes := map[string]bool{}
	for range 2 {
		w := do(s, signedRequest(t, "h:1", tokenQuery("5", ""), defaultCreds, nil))
		p := decodePage(t, w)
		codes[p.Code] = true
		if w.Code != 400 || w.Header().Get("Retry-After") != "1" {
			t.Errorf("%d %s: Retry-After %q", w.Code, p.Code, w.Header().Get("Retry-After"))
		}
	}
	if !codes["Throttling.User"] || !codes["Throttling.Api"] {
		t.Errorf("codes %v", codes)
	}
	s.SetFaults(Faults{ServerErrorRate: 1})
	if w := do(s, signedRequest(t, "h:1", tokenQuery("5", ""), defaultCreds, nil)); w.Code < 500 || w.Header().Get("Retry-After") != "" {
		t.Errorf("server error %d carries Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestShiftEvery(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) {
		c.SendsPerDay = 100
		c.Faults = Faults{ShiftEvery: 3, ShiftBy: time.Hour}
	})
	s.Advance(24 * time.Hour)
	start := s.Now()
	sends := len(s.Sends())
	tokenPage := func() {
		t.Helper()
		w := do(s, signedRequest(t, "h:1", tokenQuery("5", ""), defaultCreds, nil))
		if w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
	}
	notCounted := func() {
		t.Helper()
		for _, q := range []map[string]string{
			{"RegionId": "cn-hangzhou", "PageSize": "5"},     // page-number mode
			{"RegionId": "cn-hangzhou", "MaxResults": "0"},   // rejected parameter
			{"RegionId": "cn-shanghai", "MaxResults": "5"},   // unknown region
			{"RegionId": "cn-hangzhou", "NextToken": "bm9w"}, // invalid token
		} {
			do(s, signedRequest(t, "h:1", q, defaultCreds, nil))
		}
		do(s, signedRequest(t, "h:1", tokenQuery("5", ""), creds{defaultAccessKeyID, "wrong", ""}, nil))
	}
	check := func(step string, wantShifts int64) {
		t.Helper()
		if now := s.Now(); !now.Equal(start.Add(time.Duration(wantShifts) * time.Hour)) {
			t.Fatalf("%s: clock at %s, want start+%dh", step, now.Sub(start), wantShifts)
		}
		if st := s.Stats(); st.Shifts != wantShifts || st.Requests != outcomeSum(st) {
			t.Fatalf("%s: stats %+v", step, st)
		}
	}

	tokenPage()
	notCounted()
	tokenPage()
	check("after two pages", 0)
	w := do(s, signedRequest(t, "h:1", tokenQuery("5", ""), defaultCreds, nil))
	check("after the third page", 1)
	// The third page itself still shows the world before the shift.
	if d, _ := http.ParseTime(w.Header().Get("Date")); !d.Equal(start) {
		t.Errorf("shifting page dated %s, want %s", d, start)
	}
	if len(s.Sends()) <= sends {
		t.Error("the shift brought no new sends")
	}
	for range 2 {
		tokenPage()
		notCounted()
	}
	check("after five pages", 1)
	tokenPage()
	check("after six pages", 2)

	// Failed faulted pages do not count, and SetFaults restarts the count.
	tokenPage()
	s.SetFaults(Faults{ShiftEvery: 3, ShiftBy: time.Hour, MalformedRate: 1})
	tokenPage()
	tokenPage()
	tokenPage()
	check("after malformed pages", 2)
	s.SetFaults(Faults{ShiftEvery: 3, ShiftBy: time.Hour})
	tokenPage()
	tokenPage()
	check("after a restart and two pages", 2)
	tokenPage()
	check("after a restart and three pages", 3)
}

// TestShiftingWalk walks with the SDK while every page shifts the listing:
// new sends arrive at the head and the tail is evicted under the walk. The
// walk must return a prefix of the listing at its start, in order, each
// record once, and nothing that arrived later.
func TestShiftingWalk(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) {
		c.SendsPerDay = 100
		c.Retention = 3 * 24 * time.Hour
		c.Faults = Faults{ShiftEvery: 1, ShiftBy: 2 * time.Hour}
	})
	s.Advance(4 * 24 * time.Hour)
	want := truthIDs(listedTruth(s, "cn-hangzhou"))
	before := map[string]bool{}
	for _, st := range s.Sends() {
		before[st.InvokeID] = true
	}
	c := newClient(t, serve(t, s), defaultCreds)
	got, pages := walkTokens(t, c, request{RegionId: tea.String("cn-hangzhou")}, 20, nil)

	if len(got) == 0 || len(got) >= len(want) {
		t.Fatalf("walk returned %d of %d records; the shifts should have evicted the tail", len(got), len(want))
	}
	if !equalStrings(ids(got), want[:len(got)]) {
		t.Fatalf("walk is not the head of the listing at its start, in order")
	}
	seen := map[string]bool{}
	for _, id := range ids(got) {
		if seen[id] || !before[id] {
			t.Fatalf("%s returned twice or arrived during the walk", id)
		}
		seen[id] = true
	}
	st := s.Stats()
	if st.Shifts != int64(pages) || !s.Now().Equal(s.Config().Start.Add(4*24*time.Hour+time.Duration(pages)*2*time.Hour)) {
		t.Errorf("%d pages, %d shifts, clock %s", pages, st.Shifts, s.Now())
	}
	arrived := 0
	for _, st := range s.Sends() {
		if !before[st.InvokeID] {
			arrived++
		}
	}
	if arrived == 0 {
		t.Error("setup: no sends arrived during the walk")
	}
}

func TestFaultPlanRates(t *testing.T) {
	t.Parallel()
	for _, r := range []float64{0, -1, math.NaN()} {
		if f := FaultPlan(r); f != (Faults{}) {
			t.Errorf("FaultPlan(%v) = %+v, want no faults", r, f)
		}
	}
	if FaultPlan(7) != FaultPlan(1) {
		t.Error("FaultPlan must clamp rates above 1")
	}
	for _, r := range []float64{0.01, 0.1, 0.25, 0.5, 0.9, 1} {
		f := FaultPlan(r)
		if err := f.validate(""); err != nil {
			t.Fatalf("FaultPlan(%v) does not validate: %v", r, err)
		}
		if f.SlowDelay != 2*time.Second || f.Latency != 0 || f.ShiftEvery != 0 || f.ShiftBy != 0 {
			t.Errorf("FaultPlan(%v) = %+v", r, f)
		}
		// Follow the precedence chain for a request carrying a token.
		reach := 1 - f.ThrottleRate - f.ServerErrorRate
		bad := reach * f.BadTokenRate
		reach -= bad
		loop := reach * f.LoopTokenRate
		reach -= loop
		garbage := reach * f.GarbageRate
		reach -= garbage
		malformed := reach * f.MalformedRate
		reach -= malformed
		total := 1 - (1-f.SlowRate)*reach
		if math.Abs(total-r) > 1e-9 {
			t.Errorf("FaultPlan(%v): failure probability %v", r, total)
		}
		// The shares among the faults that are not slow follow the plan.
		scale := r / (1 - 0.05*r)
		for _, k := range []struct {
			name     string
			got, pct float64
		}{
			{"throttle", f.ThrottleRate, 0.35}, {"server", f.ServerErrorRate, 0.25},
			{"bad token", bad, 0.10}, {"loop token", loop, 0.05},
			{"garbage", garbage, 0.10}, {"malformed", malformed, 0.10},
		} {
			if math.Abs(k.got-k.pct*scale) > 1e-9 {
				t.Errorf("FaultPlan(%v): %s %v, want %v", r, k.name, k.got, k.pct*scale)
			}
		}
		if math.Abs(f.SlowRate-0.05*r) > 1e-12 {
			t.Errorf("FaultPlan(%v): slow %v", r, f.SlowRate)
		}
	}
}

func TestFaultPlanObserved(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.SendsPerDay = 100 })
	s.Advance(24 * time.Hour)
	token := decodePage(t, do(s, signedRequest(t, "h:1", tokenQuery("5", ""), defaultCreds, nil))).NextToken
	if token == "" {
		t.Fatal("setup: no NextToken")
	}
	s.SetFaults(FaultPlan(0.25))
	// A client that has gone away ends the SlowDelay wait at once, which
	// keeps 2,000 requests fast; Stats.Slow tells which ones were slow.
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	// The simulator does not check nonces for replays, so one signed
	// request can be sent again and again.
	signed := signedRequest(t, "h:1", tokenQuery("1", token), defaultCreds, nil)
	const n = 2000
	kinds := map[string]int{}
	failed := 0
	for range n {
		slowBefore := s.Stats().Slow
		w := do(s, signed.Clone(gone))
		slow := s.Stats().Slow > slowBefore
		var kind string
		switch {
		case w.Code == 200 && strings.HasPrefix(w.Header().Get("Content-Type"), "text/html"):
			kind = "garbage"
		case w.Code == 200 && !json.Valid(w.Body.Bytes()):
			kind = "malformed"
		case w.Code == 200 && decodePage(t, w).NextToken == token:
			kind = "loop token"
		case w.Code == 200:
			kind = "ok"
		default:
			kind = decodePage(t, w).Code
		}
		kinds[kind]++
		if slow {
			kinds["slow"]++
		}
		if slow || kind != "ok" {
			failed++
		}
	}
	if frac := float64(failed) / n; frac < 0.15 || frac > 0.35 {
		t.Errorf("failure fraction %.3f at FaultPlan(0.25): %v", frac, kinds)
	}
	for _, k := range []string{"Throttling.User", "Throttling.Api", "InternalError.Dispatch", "ServiceUnavailable",
		"InvalidParameter.NextToken", "loop token", "slow", "malformed", "garbage"} {
		if kinds[k] == 0 {
			t.Errorf("never saw %s: %v", k, kinds)
		}
	}
	for k := range kinds {
		switch k {
		case "ok", "slow", "garbage", "malformed", "loop token", "Throttling.User", "Throttling.Api",
			"InternalError.Dispatch", "ServiceUnavailable", "InvalidParameter.NextToken":
		default:
			t.Errorf("unexpected outcome %s", k)
		}
	}
	st := s.Stats()
	if st.Requests != n+1 || st.Requests != outcomeSum(st) ||
		st.Served != int64(kinds["ok"]+1) || st.Slow != int64(kinds["slow"]) ||
		st.Garbage != int64(kinds["garbage"]) || st.Malformed != int64(kinds["malformed"]) ||
		st.LoopTokens != int64(kinds["loop token"]) || st.BadRequests != int64(kinds["InvalidParameter.NextToken"]) ||
		st.Throttled != int64(kinds["Throttling.User"]+kinds["Throttling.Api"]) ||
		st.ServerErrors != int64(kinds["InternalError.Dispatch"]+kinds["ServiceUnavailable"]) {
		t.Errorf("stats %+v disagree with observed %v", st, kinds)
	}
	t.Logf("FaultPlan(0.25), %d token requests: %.3f failed, %v", n, float64(failed)/n, kinds)
}

// TestNewKindsLeaveTheOriginalStream checks that enabling the later fault
// kinds does not move the throttling and server errors a seed produces:
// they draw from a stream of their own.
func TestNewKindsLeaveTheOriginalStream(t *testing.T) {
	t.Parallel()
	errorsAt := func(f Faults) []int {
		s := newSim(t, func(c *Config) { c.Faults = f })
		var out []int
		for i := range 300 {
			w := do(s, signedRequest(t, "h:1", tokenQuery("5", ""), defaultCreds, nil))
			if w.Code != 200 {
				out = append(out, i*1000+w.Code)
			}
		}
		return out
	}
	base := Faults{ThrottleRate: 0.2, ServerErrorRate: 0.1}
	more := base
	more.LoopTokenRate, more.GarbageRate, more.SlowRate = 0.3, 0.3, 0.3
	a, b := errorsAt(base), errorsAt(more)
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Errorf("error positions moved: %d vs %d errors", len(a), len(b))
	}
}

func TestNewFaultsValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		field string
		tweak func(*Faults)
	}{
		{"Faults.LoopTokenRate", func(f *Faults) { f.LoopTokenRate = 1.01 }},
		{"Faults.GarbageRate", func(f *Faults) { f.GarbageRate = -0.1 }},
		{"Faults.SlowRate", func(f *Faults) { f.SlowRate = math.NaN() }},
		{"Faults.SlowDelay", func(f *Faults) { f.SlowDelay = -time.Second }},
		{"Faults.ShiftEvery", func(f *Faults) { f.ShiftEvery = -1 }},
		{"Faults.ShiftBy", func(f *Faults) { f.ShiftBy = -time.Hour }},
	}
	for _, tc := range cases {
		cfg := DefaultConfig()
		tc.tweak(&cfg.Faults)
		_, err := New(cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("want a ConfigError for %s, got %v", tc.field, err)
		}
	}
	s := newSim(t, nil)
	s.SetFaults(Faults{LoopTokenRate: 2, GarbageRate: math.NaN(), SlowRate: -1, SlowDelay: -time.Second,
		ShiftEvery: -3, ShiftBy: -time.Hour, MalformedRate: 0.5})
	if got, want := s.Config().Faults, (Faults{LoopTokenRate: 1, MalformedRate: 0.5}); got != want {
		t.Errorf("clamped to %+v, want %+v", got, want)
	}
}

func TestFaultsControlSurface(t *testing.T) {
	t.Parallel()
	s := newSim(t, nil)
	call := func(method, target, body string) (int, map[string]any) {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest(method, target, strings.NewReader(body)))
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	if code, body := call("GET", "/_sim/faults", ""); code != 200 || body["throttle_rate"] != float64(0) || body["slow_delay"] != "0s" {
		t.Fatalf("GET faults: %d %v", code, body)
	}
	if code, body := call("POST", "/_sim/faults?plan=0.25", `{"shift_every":3,"shift_by":"1h"}`); code != 200 || body["shift_by"] != "1h0m0s" {
		t.Fatalf("POST plan: %d %v", code, body)
	}
	want := FaultPlan(0.25)
	want.ShiftEvery, want.ShiftBy = 3, time.Hour
	if got := s.Config().Faults; got != want {
		t.Errorf("faults %+v, want %+v", got, want)
	}
	if code, _ := call("POST", "/_sim/faults", `{"garbage_rate":0.5}`); code != 200 || s.Config().Faults != (Faults{GarbageRate: 0.5}) {
		t.Errorf("POST body: %d %+v", code, s.Config().Faults)
	}
	for _, tc := range []struct {
		method, target, body string
		code                 int
	}{
		{"POST", "/_sim/faults?plan=2", "", 400},
		{"POST", "/_sim/faults", `{"garbage_rate":1.5}`, 400},
		{"POST", "/_sim/faults", `{"slow_delay":"soon"}`, 400},
		{"POST", "/_sim/faults", `{"no_such_rate":1}`, 400},
		{"PUT", "/_sim/faults", "", 405},
	} {
		if code, body := call(tc.method, tc.target, tc.body); code != tc.code {
			t.Errorf("%s %s %s: %d %v, want %d", tc.method, tc.target, tc.body, code, body, tc.code)
		}
	}
	if s.Config().Faults != (Faults{GarbageRate: 0.5}) {
		t.Error("a rejected POST changed the faults")
	}
	if _, body := call("GET", "/_sim/stats", ""); body["loop_tokens"] == nil || body["garbage"] == nil || body["slow"] == nil || body["shifts"] == nil {
		t.Errorf("stats lack the new counters: %v", body)
	}
}
