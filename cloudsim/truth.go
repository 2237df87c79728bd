package cloudsim

import (
	"time"
)

// Per-instance and aggregate statuses, spelled exactly as the API renders
// them. Exported so tests elsewhere can compare against the ground truth
// without retyping string literals.
const (
	StatusPending       = "Pending"
	StatusRunning       = "Running"
	StatusSuccess       = "Success"
	StatusFailed        = "Failed"
	StatusInvalid       = "Invalid"
	StatusAborted       = "Aborted"
	StatusTimeout       = "Timeout"
	StatusError         = "Error"
	StatusPartialFailed = "PartialFailed"
	// StatusUnknown is the aggregate of a send with no instances or with an
	// instance status outside the documented set. The simulator never
	// produces either, but the rule is written out in full so it can serve as
	// an independent oracle.
	StatusUnknown = "Unknown"
)

// Tag is one tag of a send, as rendered in Tags.Tag[] (TagKey, TagValue).
type Tag struct {
	Key   string // TagKey
	Value string // TagValue
}

// SendTruth is the ground truth of one file send (one InvokeId). All times
// are UTC at the precision the API renders them. String fields hold the
// clean values; quirks mode only changes how they are rendered.
type SendTruth struct {
	Region          string // the region that lists the send
	InvokeID        string // "f-" + 20 lowercase alphanumerics
	Name            string // file name, e.g. "app-3.conf"
	Description     string
	Content         string // as rendered: Base64 text when ContentType is Base64
	ContentType     string // PlainText or Base64
	TargetDir       string // destination directory
	FileOwner       string
	FileGroup       string
	FileMode        string // "0644", "0755" or "777"
	Overwrite       bool
	ResourceGroupID string // "rg-" + 15 lowercase alphanumerics; filterable, not rendered
	Tags            []Tag
	CreationTime    time.Time
	Instances       []InstanceTruth // in rendering order; VmCount is len(Instances)
}

// InstanceTruth is the ground truth of one destination instance of a send.
// Its whole lifecycle is fixed when the send is created; the API reveals it
// as the virtual clock passes each instant.
type InstanceTruth struct {
	InstanceID string
	// Creation equals the send's CreationTime; the instance does not exist
	// before it.
	Creation time.Time
	// Start is when the instance began Running; zero if it never started
	// (Invalid instances fail verification before starting).
	Start time.Time
	// Finish is when the terminal status was reached.
	Finish time.Time
	// Final is the terminal status (Success, Failed, Timeout, Error,
	// Aborted or Invalid).
	Final string
	// ErrorCode and ErrorInfo are shown once Final is reached; empty for
	// Success.
	ErrorCode string
	ErrorInfo string
}

// StatusAt returns the instance's true status at t, and false before the
// instance exists. Each boundary belongs to the later status: at exactly
// Start the instance is Running, at exactly Finish it is final.
func (it InstanceTruth) StatusAt(t time.Time) (string, bool) {
	switch {
	case t.Before(it.Creation):
		return "", false
	case !t.Before(it.Finish):
		return it.Final, true
	case !it.Start.IsZero() && !t.Before(it.Start):
		return StatusRunning, true
	default:
		return StatusPending, true
	}
}

// nextChangeAfter is the first transition strictly after t, or the zero
// time when the instance will not change again; it bounds render caching.
func (it InstanceTruth) nextChangeAfter(t time.Time) time.Time {
	switch {
	case t.Before(it.Creation):
		return it.Creation
	case !it.Start.IsZero() && t.Before(it.Start):
		return it.Start
	case t.Before(it.Finish):
		return it.Finish
	default:
		return time.Time{}
	}
}

// failedLike is the set F of the documented aggregate rule: every one of
// these counts as "Failed" when aggregating.
var failedLike = map[string]bool{
	StatusInvalid: true,
	StatusAborted: true,
	StatusFailed:  true,
	StatusTimeout: true,
	StatusError:   true,
}

var knownInstanceStatus = map[string]bool{
	StatusPending: true,
	StatusRunning: true,
	StatusSuccess: true,
	StatusInvalid: true,
	StatusAborted: true,
	StatusFailed:  true,
	StatusTimeout: true,
	StatusError:   true,
}

// tally counts instance statuses by the classes the aggregate rule needs,
// so aggregates can be computed without allocating.
type tally struct {
	total, pending, running, success, failed, unknown int
}

func (c *tally) add(status string) {
	c.total++
	switch {
	case !knownInstanceStatus[status]:
		c.unknown++
	case status == StatusPending:
		c.pending++
	case status == StatusRunning:
		c.running++
	case status == StatusSuccess:
		c.success++
	case failedLike[status]:
		c.failed++
	}
}

// aggregate applies the documented rule, in the documented order. It is
// deliberately written here, independently of the archive's own
// implementation, so that the simulator can act as an oracle for it.
func (c tally) aggregate() string {
	switch {
	case c.total == 0 || c.unknown > 0:
		return StatusUnknown
	case c.pending > 0:
		return StatusPending
	case c.running > 0:
		return StatusRunning
	case c.success == c.total:
		return StatusSuccess
	case c.failed == c.total:
		return StatusFailed
	default:
		return StatusPartialFailed
	}
}

// aggregateStatus is the aggregate rule over a list of instance statuses.
func aggregateStatus(statuses []string) string {
	var c tally
	for _, st := range statuses {
		c.add(st)
	}
	return c.aggregate()
}

// aggregateAt is the aggregate of the instances existing at t, without
// building the per-instance map StatusAt returns.
func (st *SendTruth) aggregateAt(t time.Time) string {
	var c tally
	for i := range st.Instances {
		if status, ok := st.Instances[i].StatusAt(t); ok {
			c.add(status)
		}
	}
	return c.aggregate()
}

// clone deep-copies a truth record so callers can never mutate the
// simulator's state through the slices it hands out.
func (st SendTruth) clone() SendTruth {
	st.Tags = append([]Tag(nil), st.Tags...)
	st.Instances = append([]InstanceTruth(nil), st.Instances...)
	return st
}

// statusesAt returns each instance's status at t, or ok=false when the send
// did not exist yet.
func (st *SendTruth) statusesAt(t time.Time) (aggregate string, instances map[string]string, ok bool) {
	if t.Before(st.CreationTime) {
		return "", nil, false
	}
	instances = make(map[string]string, len(st.Instances))
	for _, it := range st.Instances {
		if status, exists := it.StatusAt(t); exists {
			instances[it.InstanceID] = status // not yet created at t: not counted
		}
	}
	return st.aggregateAt(t), instances, true
}

// Sends returns every send created up to Now(), in creation order,
// including those the API no longer lists. The result is a deep copy.
func (s *Sim) Sends() []SendTruth {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SendTruth, len(s.sends))
	for i, snd := range s.sends {
		out[i] = snd.truth.clone()
	}
	return out
}

// Send returns the ground truth of one send, if it has been created.
func (s *Sim) Send(invokeID string) (SendTruth, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snd, ok := s.byID[invokeID]
	if !ok {
		return SendTruth{}, false
	}
	return snd.truth.clone(), true
}

// Listed reports whether the API still serves the send in region at Now():
// it exists, belongs to region and has not been evicted by retention or by
// the record cap.
func (s *Sim) Listed(region, invokeID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	snd, ok := s.byID[invokeID]
	return ok && snd.region.name == region && !snd.evicted
}

// StatusAt returns the true per-instance statuses of a send at instant t
// and their aggregate under the documented rule. ok is false when the send
// is unknown (not created by Now()) or did not exist yet at t. Instants
// after Now() are answered from the send's predetermined lifecycle.
func (s *Sim) StatusAt(invokeID string, t time.Time) (aggregate string, instances map[string]string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snd, found := s.byID[invokeID]
	if !found {
		return "", nil, false
	}
	return snd.truth.statusesAt(t)
}
