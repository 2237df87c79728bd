package cloudsim

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// Config describes one simulated account. The zero value of every field
// except Seed, Quirks, MaxRecords, SecurityToken and Faults means "use the
// default", so callers can set only what they care about.
type Config struct {
	// Seed drives every random choice; equal seeds give equal worlds.
	Seed int64
	// Start is the virtual clock's starting instant. It is converted to UTC
	// and truncated to the second so that generated times stay whole seconds.
	// Default 2026-01-05T00:00:00Z.
	Start time.Time
	// Regions are the region ids the account serves. A request for any other
	// region id gets 404 InvalidRegionId.NotFound. Default ["cn-hangzhou"].
	Regions []string
	// AccountID is the account the simulated cloud belongs to, as STS
	// GetCallerIdentity reports it: 16 digits. Default: derived from Seed,
	// so two simulators with different seeds are two accounts.
	AccountID string
	// AccessKeyID is the only access key id the simulator knows; requests
	// signed with another get 404 InvalidAccessKeyId.NotFound.
	// Default "sim-access-key-id".
	AccessKeyID string
	// AccessKeySecret is the secret signatures are verified against.
	// Default "sim-access-key-secret".
	AccessKeySecret string
	// SecurityToken, when set, must arrive in x-acs-security-token, as it does
	// for STS credentials.
	SecurityToken string
	// Retention is how long the API keeps listing a send after its creation;
	// records with CreationTime < now-Retention are evicted. Default six
	// weeks, as in the current English documentation.
	Retention time.Duration
	// MaxRecords caps the number of listed sends per region, newest kept;
	// 0 means no cap. Older documentation mentions 100,000 and newer SDK
	// comments 10,000 or 1,000, which is why it is configurable.
	MaxRecords int
	// SendsPerDay is the mean arrival rate of file sends per region.
	// Default 12; at most 86400 because arrivals are whole seconds apart.
	SendsPerDay float64
	// FleetSize is the number of instances per region. Default 40.
	FleetSize int
	// MaxInstancesPerSend bounds how many distinct instances one send
	// targets (uniformly 1..N). Default 6, or FleetSize if that is smaller.
	MaxInstancesPerSend int
	// Quirks renders the value shapes the documentation's samples show
	// (offset and fractional timestamps, stray whitespace, booleans and
	// numbers where strings are documented, TotalCount as a string).
	Quirks bool
	// Faults are injected into authenticated requests; see Faults.
	Faults Faults
	// ShuffledListing lists send-file results (in NextToken mode) in a
	// fixed pseudo-random order instead of newest first: the API does not
	// document its order, and head walks must not depend on it.
	ShuffledListing bool

	// CommandsPerDay is the mean arrival rate of ECS command tasks
	// (DescribeInvocations) per region. Default 0: no commands.
	CommandsPerDay float64
	// EFLOSendsPerDay and EFLOCommandsPerDay are the mean arrival rates of
	// EFLO (Lingjun) send-file and command tasks per region. Default 0.
	EFLOSendsPerDay    float64
	EFLOCommandsPerDay float64
	// NodeFleetSize is the number of EFLO nodes per region. Default 16.
	NodeFleetSize int

	// Roles are the account's RAM roles that STS AssumeRole can assume.
	// Default none.
	Roles []Role
	// SessionDuration caps the lifetime of credentials AssumeRole issues
	// for this account's roles; 0 means as requested (DurationSeconds,
	// 900..3600 s, default 3600 s). Tests set a few seconds to exercise
	// refreshes. Lifetimes run on the wall clock, not the virtual one.
	SessionDuration time.Duration
}

// cloneRoles deep-copies roles so a Config handed in or out cannot alias
// the simulator's own.
func cloneRoles(roles []Role) []Role {
	if roles == nil {
		return nil
	}
	out := make([]Role, len(roles))
	for i, r := range roles {
		r.TrustedAccounts = append([]string(nil), r.TrustedAccounts...)
		out[i] = r
	}
	return out
}

// validateRoles checks role names, their uniqueness (ARNs lowercase them)
// and the trusted account ids.
func (c Config) validateRoles() error {
	if c.SessionDuration < 0 {
		return &ConfigError{"SessionDuration", "must not be negative (0 means as requested)"}
	}
	seen := map[string]bool{}
	for i, r := range c.Roles {
		field := fmt.Sprintf("Roles[%d]", i)
		if !roleNamePattern.MatchString(r.Name) {
			return &ConfigError{field + ".Name", fmt.Sprintf("%q is not 1..64 letters, digits, '.' or '-'", r.Name)}
		}
		if seen[strings.ToLower(r.Name)] {
			return &ConfigError{field + ".Name", fmt.Sprintf("%q is listed twice", r.Name)}
		}
		seen[strings.ToLower(r.Name)] = true
		for j, a := range r.TrustedAccounts {
			if !accountIDPattern.MatchString(a) {
				return &ConfigError{fmt.Sprintf("%s.TrustedAccounts[%d]", field, j), fmt.Sprintf("%q is not 16 digits", a)}
			}
		}
	}
	return nil
}

// Faults configures injected failures. Each authenticated API request draws
// from seeded streams derived from Config.Seed, so a given seed and request
// order always yields the same faults. Rates are fractions in [0, 1].
//
// # Precedence
//
// Every request consumes the same fixed number of draws whatever the rates,
// and its fate is decided in this order:
//
//  1. SlowRate: an overlay drawn independently of everything else; a slow
//     request waits SlowDelay and then gets whatever the steps below decide.
//  2. ThrottleRate, then ServerErrorRate: one draw partitioned into
//     [0, ThrottleRate) and [ThrottleRate, ThrottleRate+ServerErrorRate),
//     so these two are unconditional fractions of all requests.
//  3. BadTokenRate (requests with a NextToken only),
//  4. LoopTokenRate (requests with a NextToken only),
//  5. GarbageRate,
//  6. MalformedRate.
//
// Steps 3 to 6 each have their own draw and apply only to requests no
// earlier step has claimed, so each of those rates is the fraction among
// the requests that reach its step. The body faults (4 to 6) replace only
// answers that would otherwise have succeeded: a request the simulator
// rejects anyway (bad parameter, unknown region) keeps its genuine error.
// FaultPlan converts a single total failure probability into rates with
// these semantics.
type Faults struct {
	// ThrottleRate is the fraction of requests answered 400 Throttling.User
	// or Throttling.Api (alternately), as the cloud's flow control does.
	// Throttling answers carry the hint "Retry-After: 1" (seconds).
	ThrottleRate float64
	// ServerErrorRate is the fraction answered 500 InternalError.Dispatch or
	// 503 ServiceUnavailable. ThrottleRate+ServerErrorRate must not exceed 1.
	ServerErrorRate float64
	// BadTokenRate is the fraction of requests carrying a non-empty NextToken
	// that are answered 400 InvalidParameter.NextToken although the token is
	// valid, imitating a token the cloud has expired.
	BadTokenRate float64
	// LoopTokenRate is the fraction of requests carrying a non-empty
	// NextToken that get a normal page whose NextToken is the request's own
	// token, even on the last page: an API that hands back the same token
	// forever. A client that follows it blindly never terminates.
	LoopTokenRate float64
	// GarbageRate is the fraction of otherwise successful responses replaced
	// by a 200 whose body is not JSON at all but a gateway's HTML error page
	// (Content-Type text/html), unlike MalformedRate's truncated JSON.
	GarbageRate float64
	// MalformedRate is the fraction of otherwise successful responses whose
	// JSON body is cut short, to exercise clients' handling of broken bodies.
	MalformedRate float64
	// SlowRate is the fraction of requests that wait SlowDelay of real
	// (wall-clock) time before answering, on top of Latency, so that a
	// client with a shorter timeout gives up. The wait ends early if the
	// client goes away.
	SlowRate float64
	// SlowDelay is the extra wait of a slow request; 0 makes slow requests
	// count in Stats.Slow without waiting.
	SlowDelay time.Duration
	// Latency is real (wall-clock) time added before each API response.
	Latency time.Duration
	// ShiftEvery and ShiftBy shift the listing under a paging client: after
	// every ShiftEvery-th token-mode list page (MaxResults or NextToken
	// present) answered successfully — counted in Stats.Served, across all
	// regions, since the simulator was created or SetFaults last called —
	// the virtual clock advances by ShiftBy, exactly as Advance would: new
	// sends arrive at the head of the listing and old ones are evicted at
	// its tail while the client is mid-walk. Tokens encode the sort key, so
	// a walk still returns every record at most once and in order; it just
	// misses the evicted tail. Either being 0 disables shifting.
	ShiftEvery int
	ShiftBy    time.Duration
}

// Defaults, kept as named values so documentation and code agree.
const (
	defaultRetention           = 6 * 7 * 24 * time.Hour
	defaultSendsPerDay         = 12
	defaultFleetSize           = 40
	defaultMaxInstancesPerSend = 6
	defaultNodeFleetSize       = 16
	defaultAccessKeyID         = "sim-access-key-id"
	defaultAccessKeySecret     = "sim-access-key-secret"
	// maxSendsPerDay keeps arrivals at least one second apart per region,
	// which is what lets whole-second creation times stay strictly ordered.
	maxSendsPerDay = 86400
	// maxFleetSize bounds memory for fleets; far beyond any realistic test.
	maxFleetSize = 100000
)

var defaultStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// regionIDPattern accepts the shape of real region ids such as cn-hangzhou,
// ap-southeast-1 or cn-shanghai-finance-1.
var regionIDPattern = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)

var accountIDPattern = regexp.MustCompile(`^[0-9]{16}$`)

// DefaultConfig returns the configuration New uses for zero-valued fields:
// one region, a 40-instance fleet, twelve sends a day, six weeks' retention,
// no record cap, no quirks and no faults.
func DefaultConfig() Config {
	return Config{
		Start:               defaultStart,
		Regions:             []string{"cn-hangzhou"},
		AccessKeyID:         defaultAccessKeyID,
		AccessKeySecret:     defaultAccessKeySecret,
		Retention:           defaultRetention,
		SendsPerDay:         defaultSendsPerDay,
		FleetSize:           defaultFleetSize,
		MaxInstancesPerSend: defaultMaxInstancesPerSend,
		NodeFleetSize:       defaultNodeFleetSize,
	}
}

// accountFor is the account id a seed's simulator belongs to by default.
func accountFor(seed int64) string {
	return fmt.Sprintf("1%015d", hashSeed(seed, "account")%1_000_000_000_000_000)
}

// ConfigError reports an invalid configuration field by name, so a command
// line or config file can point the user at the exact setting to fix.
type ConfigError struct {
	// Field is the Config field name, e.g. "Faults.ThrottleRate".
	Field string
	// Reason says what is wrong with it.
	Reason string
}

// Error implements error.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("cloudsim: invalid config: %s %s", e.Field, e.Reason)
}

// withDefaults fills zero-valued fields; it never overrides explicit values,
// so validation still sees (and rejects) negative or malformed ones.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Start.IsZero() {
		c.Start = d.Start
	}
	c.Start = c.Start.UTC().Truncate(time.Second)
	if len(c.Regions) == 0 {
		c.Regions = d.Regions
	}
	c.Regions = append([]string(nil), c.Regions...)
	c.Roles = cloneRoles(c.Roles)
	if c.AccessKeyID == "" {
		c.AccessKeyID = d.AccessKeyID
	}
	if c.AccountID == "" {
		c.AccountID = accountFor(c.Seed)
	}
	if c.AccessKeySecret == "" {
		c.AccessKeySecret = d.AccessKeySecret
	}
	if c.Retention == 0 {
		c.Retention = d.Retention
	}
	if c.SendsPerDay == 0 {
		c.SendsPerDay = d.SendsPerDay
	}
	if c.FleetSize == 0 {
		c.FleetSize = d.FleetSize
	}
	if c.NodeFleetSize == 0 {
		c.NodeFleetSize = d.NodeFleetSize
	}
	if c.MaxInstancesPerSend == 0 {
		c.MaxInstancesPerSend = min(d.MaxInstancesPerSend, max(c.FleetSize, 1))
	}
	return c
}

// validate checks a defaulted config and names the first offending field.
func (c Config) validate() error {
	seen := make(map[string]bool, len(c.Regions))
	for i, r := range c.Regions {
		field := fmt.Sprintf("Regions[%d]", i)
		if !regionIDPattern.MatchString(r) {
			return &ConfigError{field, fmt.Sprintf("%q is not a region id like cn-hangzhou", r)}
		}
		if seen[r] {
			return &ConfigError{field, fmt.Sprintf("%q is listed twice", r)}
		}
		seen[r] = true
	}
	// The Authorization header separates its parts with commas and spaces,
	// so such characters could never be matched in a Credential.
	if strings.ContainsAny(c.AccessKeyID, " ,;=\t\r\n") {
		return &ConfigError{"AccessKeyID", "must not contain spaces, commas, semicolons or equals signs"}
	}
	if !accountIDPattern.MatchString(c.AccountID) {
		return &ConfigError{"AccountID", fmt.Sprintf("%q is not 16 digits", c.AccountID)}
	}
	if c.Retention < 0 {
		return &ConfigError{"Retention", "must not be negative"}
	}
	if c.MaxRecords < 0 {
		return &ConfigError{"MaxRecords", "must not be negative (0 means no cap)"}
	}
	if math.IsNaN(c.SendsPerDay) || c.SendsPerDay <= 0 || c.SendsPerDay > maxSendsPerDay {
		return &ConfigError{"SendsPerDay", fmt.Sprintf("must be in (0, %d]", maxSendsPerDay)}
	}
	if c.FleetSize < 1 || c.FleetSize > maxFleetSize {
		return &ConfigError{"FleetSize", fmt.Sprintf("must be in [1, %d]", maxFleetSize)}
	}
	if c.MaxInstancesPerSend < 1 || c.MaxInstancesPerSend > c.FleetSize {
		return &ConfigError{"MaxInstancesPerSend", fmt.Sprintf("must be in [1, FleetSize=%d]", c.FleetSize)}
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"CommandsPerDay", c.CommandsPerDay}, {"EFLOSendsPerDay", c.EFLOSendsPerDay}, {"EFLOCommandsPerDay", c.EFLOCommandsPerDay}} {
		if math.IsNaN(r.v) || r.v < 0 || r.v > maxSendsPerDay {
			return &ConfigError{r.name, fmt.Sprintf("must be in [0, %d] (0 disables)", maxSendsPerDay)}
		}
	}
	if c.NodeFleetSize < 0 || c.NodeFleetSize > maxFleetSize {
		return &ConfigError{"NodeFleetSize", fmt.Sprintf("must be in [0, %d] (0 means %d)", maxFleetSize, defaultNodeFleetSize)}
	}
	if err := c.validateRoles(); err != nil {
		return err
	}
	return c.Faults.validate("Faults.")
}

func (f Faults) validate(prefix string) error {
	rates := []struct {
		name string
		v    float64
	}{
		{"ThrottleRate", f.ThrottleRate},
		{"ServerErrorRate", f.ServerErrorRate},
		{"BadTokenRate", f.BadTokenRate},
		{"LoopTokenRate", f.LoopTokenRate},
		{"GarbageRate", f.GarbageRate},
		{"MalformedRate", f.MalformedRate},
		{"SlowRate", f.SlowRate},
	}
	for _, r := range rates {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			return &ConfigError{prefix + r.name, "must be a fraction in [0, 1]"}
		}
	}
	if f.ThrottleRate+f.ServerErrorRate > 1 {
		return &ConfigError{prefix + "ServerErrorRate", "plus ThrottleRate must not exceed 1"}
	}
	durations := []struct {
		name string
		v    time.Duration
	}{
		{"SlowDelay", f.SlowDelay},
		{"Latency", f.Latency},
		{"ShiftBy", f.ShiftBy},
	}
	for _, d := range durations {
		if d.v < 0 {
			return &ConfigError{prefix + d.name, "must not be negative"}
		}
	}
	if f.ShiftEvery < 0 {
		return &ConfigError{prefix + "ShiftEvery", "must not be negative (0 disables shifting)"}
	}
	return nil
}

// clamped forces rates into range; SetFaults has no error return, and a
// simulator that silently ignored the call would be harder to debug than one
// that saturates.
func (f Faults) clamped() Faults {
	clamp := func(v float64) float64 {
		if math.IsNaN(v) || v < 0 {
			return 0
		}
		return min(v, 1)
	}
	f.ThrottleRate = clamp(f.ThrottleRate)
	f.ServerErrorRate = min(clamp(f.ServerErrorRate), 1-f.ThrottleRate)
	f.BadTokenRate = clamp(f.BadTokenRate)
	f.LoopTokenRate = clamp(f.LoopTokenRate)
	f.GarbageRate = clamp(f.GarbageRate)
	f.MalformedRate = clamp(f.MalformedRate)
	f.SlowRate = clamp(f.SlowRate)
	f.SlowDelay = max(f.SlowDelay, 0)
	f.Latency = max(f.Latency, 0)
	f.ShiftEvery = max(f.ShiftEvery, 0)
	f.ShiftBy = max(f.ShiftBy, 0)
	return f
}
