package cloudsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The operations and API versions the simulator serves.
const (
	apiAction  = "DescribeSendFileResults"
	apiVersion = "2014-05-26"
	// STS GetCallerIdentity tells a client which account its key belongs
	// to. It is served on the same endpoint and never fault-injected.
	stsIdentityAction = "GetCallerIdentity"
	stsVersion        = "2015-04-01"
)

// maxBodyBytes bounds request bodies; DescribeSendFileResults sends none.
const maxBodyBytes = 1 << 20

// controlPrefix is the control surface's path prefix. The API is served
// only at exactly "/", so the two can never be confused.
const controlPrefix = "/_sim/"

// Handler returns the HTTP handler serving the API at "/" and the control
// surface under "/_sim/".
func (s *Sim) Handler() http.Handler {
	return s.handler(s.selfDirectory)
}

// handler serves s, resolving AssumeRole's target accounts through dir.
func (s *Sim) handler(dir directory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/":
			s.serveAPI(w, r, dir)
		case strings.HasPrefix(r.URL.Path, controlPrefix):
			s.serveControl(w, r)
		default:
			// Any other path is what the cloud answers for an unknown
			// API; it is counted so Stats accounts for every request.
			id := s.beginRequest()
			s.finish(outBadRequest)
			writeAPIError(w, id, errUnknownPath)
		}
	})
}

// beginRequest counts a request and returns its id. Ids are derived from
// the seed and the request's ordinal, so runs are reproducible.
func (s *Sim) beginRequest() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	s.requests++
	hi := hashSeed(s.cfg.Seed, "request", strconv.FormatUint(s.requests, 10))
	lo := finalize(hi ^ s.requests)
	return fmt.Sprintf("%08X-%04X-%04X-%04X-%012X",
		hi>>32, (hi>>16)&0xffff, 0x4000|hi&0x0fff, 0x8000|(lo>>48)&0x3fff, lo&0xffffffffffff)
}

func (s *Sim) finish(o outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch o {
	case outServed:
		s.stats.Served++
	case outThrottled:
		s.stats.Throttled++
	case outServerError:
		s.stats.ServerErrors++
	case outAuthFailure:
		s.stats.AuthFailures++
	case outBadRequest:
		s.stats.BadRequests++
	case outMalformed:
		s.stats.Malformed++
	case outLoopToken:
		s.stats.LoopTokens++
	case outGarbage:
		s.stats.Garbage++
	}
}

func (s *Sim) serveAPI(w http.ResponseWriter, r *http.Request, dir directory) {
	id := s.beginRequest()
	// The Date header carries the virtual clock, as the cloud's carries its
	// own: clients date what they observe by the source's clock.
	w.Header().Set("Date", s.Now().UTC().Format(http.TimeFormat))
	body, fault, e := s.processAPI(r, id, dir)
	if e != nil {
		s.finish(e.outcome)
		writeAPIError(w, id, e)
		return
	}
	switch fault {
	case faultGarbage:
		s.finish(outGarbage)
		writeGarbage(w)
		return
	case faultMalformed:
		s.finish(outMalformed)
		body = body[:len(body)/2]
	case faultLoopToken:
		s.finish(outLoopToken)
	default:
		s.finish(outServed)
	}
	writeJSONBody(w, id, http.StatusOK, body)
}

// processAPI runs the gateway's checks in the cloud's order — operation,
// authentication, flow control, parameters — and then the query. The body
// fault it returns applies only when the error is nil.
func (s *Sim) processAPI(r *http.Request, requestID string, dir directory) ([]byte, bodyFault, *apiError) {
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(payload) > maxBodyBytes {
		return nil, faultNone, errBadBody
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, faultNone, errBadQuery
	}
	params, e := mergeFormBody(r, query, payload)
	if e != nil {
		return nil, faultNone, e
	}

	action := r.Header.Get("x-acs-action")
	if action == "" {
		action = params.Get("Action")
	}
	version := r.Header.Get("x-acs-version")
	if version == "" {
		version = params.Get("Version")
	}
	if action == "" {
		return nil, faultNone, errMissingAction
	}
	if version == stsVersion && (action == stsIdentityAction || action == stsAssumeRoleAction) {
		body, e := s.serveSTS(r, query, payload, params, action, requestID, dir)
		return body, faultNone, e
	}
	versions, ok := listingOps[action]
	switch {
	case !ok:
		return nil, faultNone, errUnknownAction
	case version == "":
		return nil, faultNone, errMissingVer
	case versions[version] == nil:
		return nil, faultNone, errBadVersion
	}
	return s.serveListing(r, query, payload, params, versions[version], requestID)
}

// serveSTS answers the STS operations: authenticated, never fault-injected.
func (s *Sim) serveSTS(r *http.Request, query url.Values, payload []byte, params url.Values, action, requestID string, dir directory) ([]byte, *apiError) {
	if action == stsAssumeRoleAction {
		s.mu.Lock()
		s.stats.AssumeRoles++
		s.mu.Unlock()
	}
	cred, e := s.authenticate(r, query, payload)
	if e != nil {
		return nil, e
	}
	if action == stsAssumeRoleAction {
		return s.assumeRole(params, requestID, dir)
	}
	return s.callerIdentity(r, cred, requestID), nil
}

// listingOp is one record-listing operation of one API version. run is
// called with s.mu held and reports whether the request was a token-mode
// page (which ShiftEvery counts).
type listingOp struct {
	tokens bool // takes NextToken, so the token faults apply
	run    func(s *Sim, p url.Values, requestID string, loopToken bool) (body []byte, tokenMode bool, e *apiError)
}

// listingOps are the fault-injected operations by action and version.
var listingOps = map[string]map[string]*listingOp{
	apiAction: {
		apiVersion:  {tokens: true, run: (*Sim).runSendFile},
		efloVersion: {run: (*Sim).runEFLOSendFile},
	},
	actionInvocations: {
		apiVersion:  {tokens: true, run: (*Sim).runInvocations},
		efloVersion: {run: (*Sim).runEFLOCommands},
	},
	actionInvocationResults: {apiVersion: {tokens: true, run: (*Sim).runInvocationResults}},
}

// runSendFile answers ECS DescribeSendFileResults.
func (s *Sim) runSendFile(p url.Values, requestID string, loopToken bool) ([]byte, bool, *apiError) {
	req, e := parseListRequest(p)
	if e != nil {
		return nil, false, e
	}
	req.loopToken = loopToken
	body, e := s.list(req, requestID)
	return body, req.tokenMode, e
}

// serveListing authenticates a listing request, draws its faults and runs
// it. Faults come only after authentication, so authentication tests see
// the same answers whatever the fault rates are.
func (s *Sim) serveListing(r *http.Request, query url.Values, payload []byte, params url.Values, op *listingOp, requestID string) ([]byte, bodyFault, *apiError) {
	if _, e := s.authenticate(r, query, payload); e != nil {
		return nil, faultNone, e
	}
	d := s.drawFaults(op.tokens && params.Get("NextToken") != "")
	if d.delay > 0 {
		t := time.NewTimer(d.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if d.err != nil {
		return nil, faultNone, d.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	body, tokenMode, e := op.run(s, params, requestID, d.body == faultLoopToken)
	if e != nil {
		return nil, faultNone, e
	}
	if tokenMode && d.body == faultNone {
		s.countShiftPage()
	}
	return body, d.body, nil
}

// mergeFormBody adds parameters sent as a form body, which RPC-style
// clients other than this SDK do; query parameters win on conflict.
func mergeFormBody(r *http.Request, query url.Values, payload []byte) (url.Values, *apiError) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" || len(payload) == 0 {
		return query, nil
	}
	form, err := url.ParseQuery(string(payload))
	if err != nil {
		return nil, errBadQuery
	}
	merged := url.Values{}
	for k, v := range form {
		merged[k] = v
	}
	for k, v := range query {
		merged[k] = v
	}
	return merged, nil
}

// serveControl answers the scripting surface. It is unauthenticated on
// purpose: it exists for local demos and load tests, never for production
// endpoints, and it cannot reach the API's data.
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, v any) {
		body, _ := json.Marshal(v)
		writeJSONBody(w, "", status, append(body, '\n'))
	}
	method := func(allowed string) bool {
		if r.Method == allowed || (allowed == http.MethodGet && r.Method == http.MethodHead) {
			return true
		}
		w.Header().Set("Allow", allowed)
		reply(http.StatusMethodNotAllowed, map[string]string{"error": "use " + allowed + " for " + r.URL.Path})
		return false
	}
	switch r.URL.Path {
	case controlPrefix + "now":
		if method(http.MethodGet) {
			reply(http.StatusOK, map[string]string{"now": s.Now().Format(time.RFC3339Nano)})
		}
	case controlPrefix + "advance":
		if !method(http.MethodPost) {
			return
		}
		d, err := parseAdvance(r.URL.Query().Get("by"))
		if err != nil {
			reply(http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.Advance(d)
		reply(http.StatusOK, map[string]string{"now": s.Now().Format(time.RFC3339Nano)})
	case controlPrefix + "stats":
		if method(http.MethodGet) {
			reply(http.StatusOK, s.Stats())
		}
	case controlPrefix + "faults":
		s.serveFaults(w, r, reply)
	case controlPrefix + "eflo/tasks":
		if !method(http.MethodGet) {
			return
		}
		var since time.Time
		if v := r.URL.Query().Get("since"); v != "" {
			var err error
			if since, err = time.Parse(time.RFC3339, v); err != nil {
				reply(http.StatusBadRequest, map[string]string{"error": "invalid since, want RFC 3339 such as 2026-01-05T00:00:00Z"})
				return
			}
		}
		reply(http.StatusOK, s.efloTasksSince(since))
	default:
		reply(http.StatusNotFound, map[string]string{"error": "unknown control path; use GET /_sim/now, POST /_sim/advance?by=1h, GET /_sim/stats, GET|POST /_sim/faults or GET /_sim/eflo/tasks?since=RFC3339"})
	}
}

// parseAdvance accepts Go durations ("90m", "36h") plus whole days ("3d"),
// because scripts think of simulated history in days.
func parseAdvance(by string) (time.Duration, error) {
	if by == "" {
		return 0, errors.New(`missing "by", e.g. /_sim/advance?by=1h`)
	}
	if days, ok := strings.CutSuffix(by, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*366 {
			return 0, fmt.Errorf("invalid day count %q, e.g. by=3d", by)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(by)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q, e.g. by=90m or by=36h", by)
	}
	return d, nil
}

// ListenAndServe serves s on addr until ctx is done, then shuts down
// gracefully, letting in-flight requests finish for a few seconds.
func ListenAndServe(ctx context.Context, addr string, s *Sim) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cloudsim: listen on %s: %w", addr, err)
	}
	return Serve(ctx, ln, s)
}

// Serve is ListenAndServe on an existing listener, for callers that bind
// port 0 and need to learn the address first. It closes ln.
func Serve(ctx context.Context, ln net.Listener, s *Sim) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("cloudsim: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("cloudsim: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("cloudsim: serve: %w", err)
	}
	return nil
}
