package cloudsim

import (
	"sync"
	"time"
)

// Sim is one simulated account: a fleet per region, the sends created on the
// virtual clock so far, and the HTTP API over them. All methods are safe for
// concurrent use.
type Sim struct {
	cfg Config // effective config, defaults applied; immutable after New

	mu      sync.Mutex
	now     time.Time
	regions []*region // in Config.Regions order, which breaks creation-time ties
	byName  map[string]*region
	sends   []*send          // materialized sends in creation order
	byID    map[string]*send // materialized sends by InvokeId
	usedIDs map[string]bool  // every id handed out, including pending sends

	faults     Faults
	faultRNG   *rng   // the original four draws per request
	faultRNG2  *rng   // the later kinds' draws, so the first stream is unchanged
	throttles  int64  // alternates Throttling.User and Throttling.Api
	shiftPages int    // served token-mode pages since the last shift
	requests   uint64 // feeds deterministic request ids
	stats      Stats

	tasks    map[string][]*task // materialized tasks of the new sources, by source, in creation order
	taskByID map[string]*task   // materialized tasks by InvokeId

	issued  map[string]*issuedCred // temporary credentials for this account's roles, by access key id
	issuedN uint64                 // credentials issued so far; seeds the next set
}

// Stats counts API requests by outcome. Control-surface requests
// (/_sim/...) are not counted. Every API request lands in exactly one
// outcome counter, so Requests equals Served + Throttled + ServerErrors +
// AuthFailures + BadRequests + Malformed + LoopTokens + Garbage. Slow and
// Shifts are extra counters outside that sum: a slow request also lands in
// the outcome it was eventually given, and a shift is a clock event, not a
// request.
type Stats struct {
	Requests     int64 `json:"requests"`      // every request to the API path (and unknown paths)
	Served       int64 `json:"served"`        // 200 with a well-formed body
	Throttled    int64 `json:"throttled"`     // injected Throttling.User / Throttling.Api
	ServerErrors int64 `json:"server_errors"` // injected InternalError.Dispatch / ServiceUnavailable
	AuthFailures int64 `json:"auth_failures"` // signature, access key or security token rejected
	BadRequests  int64 `json:"bad_requests"`  // parameter, action, version or path errors, including injected NextToken rejections
	Malformed    int64 `json:"malformed"`     // 200 with an injected truncated body
	LoopTokens   int64 `json:"loop_tokens"`   // 200 with a well-formed page whose NextToken is the request's own
	Garbage      int64 `json:"garbage"`       // 200 with an injected non-JSON (HTML) body

	// AssumeRoles is not an outcome: STS AssumeRole requests this account
	// answered (each also lands in Served, BadRequests or AuthFailures).
	AssumeRoles int64 `json:"assume_roles"`

	Slow   int64 `json:"slow"`   // not an outcome: requests that drew the SlowDelay wait
	Shifts int64 `json:"shifts"` // not an outcome: clock advances made by ShiftEvery/ShiftBy
}

// New validates cfg (after filling zero fields with DefaultConfig values)
// and returns a simulator whose clock stands at cfg.Start with no sends yet.
// Validation errors are *ConfigError values naming the field.
func New(cfg Config) (*Sim, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sim{
		cfg:       cfg,
		now:       cfg.Start,
		byName:    make(map[string]*region, len(cfg.Regions)),
		byID:      make(map[string]*send),
		usedIDs:   make(map[string]bool),
		issued:    make(map[string]*issuedCred),
		tasks:     make(map[string][]*task),
		taskByID:  make(map[string]*task),
		faults:    cfg.Faults,
		faultRNG:  newRNG(hashSeed(cfg.Seed, "faults")),
		faultRNG2: newRNG(hashSeed(cfg.Seed, "faults/2")),
	}
	fleetIDs := make(map[string]bool)
	for i, name := range cfg.Regions {
		r := s.newRegion(name, i, fleetIDs)
		s.regions = append(s.regions, r)
		s.byName[name] = r
	}
	for _, r := range s.regions {
		s.prepareNext(r)
	}
	for _, r := range s.regions {
		s.initStreams(r)
	}
	return s, nil
}

// Config returns the effective configuration, defaults applied.
func (s *Sim) Config() Config {
	c := s.cfg
	c.Regions = append([]string(nil), c.Regions...)
	c.Roles = cloneRoles(c.Roles)
	s.mu.Lock()
	c.Faults = s.faults
	s.mu.Unlock()
	return c
}

// Now returns the virtual clock's current instant (UTC).
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves the virtual clock forward by d. Every send whose creation
// time is at or before the new instant comes into existence, in creation
// order, and records that fell out of retention or the record cap are
// evicted. The outcome depends only on the seed and the final instant, not
// on how the clock got there. Non-positive d is ignored: the cloud's clock
// never runs backwards.
func (s *Sim) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceTo(s.now.Add(d))
}

func (s *Sim) advanceTo(target time.Time) {
	for {
		// Merge the regions' arrival streams by creation time; ties go to
		// the region listed first, which keeps the global order independent
		// of how Advance is chunked.
		var next *region
		for _, r := range s.regions {
			if r.pending.truth.CreationTime.After(target) {
				continue
			}
			if next == nil || r.pending.truth.CreationTime.Before(next.pending.truth.CreationTime) {
				next = r
			}
		}
		if next == nil {
			break
		}
		snd := next.pending
		s.sends = append(s.sends, snd)
		s.byID[snd.truth.InvokeID] = snd
		next.insert(snd)
		s.prepareNext(next)
	}
	s.now = target
	for _, r := range s.regions {
		r.evict(s.now.Add(-s.cfg.Retention), s.cfg.MaxRecords)
	}
	s.advanceTasks(target)
}

// SetFaults replaces the injected-fault configuration. Out-of-range rates
// are clamped into [0, 1] (and ServerErrorRate to 1-ThrottleRate), negative
// durations and ShiftEvery to 0. The fault stream itself continues, so
// determinism across a run is kept; the ShiftEvery page count restarts.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f.clamped()
	s.shiftPages = 0
}

// Stats returns a snapshot of the request counters.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}
