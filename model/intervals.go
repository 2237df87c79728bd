package model

import "time"

// The point-in-time rule as intervals. An instance's state at T is its last
// status at or before T and, once that status is an outcome (not Pending or
// Running), the error code and info of its last details at or before T.
// Because an instance's valid time never goes backwards, its state is
// piecewise constant between the valid times of its events: the fold records
// each change (Changes), and the store keeps them as validity intervals.

// ShowsError reports whether an instance in status s shows error details:
// an outcome does; Pending and Running have none yet, even when the archive
// first saw the instance after it failed.
func ShowsError(s Status) bool { return s != StatusPending && s != StatusRunning }

// InstanceState is what an instance shows at an instant.
type InstanceState struct {
	Status    Status
	Since     time.Time // valid time of the last status event
	ErrorCode string
	ErrorInfo string
}

// State is what the instance shows after its events so far; ok is false
// before its first status event (it does not count yet).
func (in *KnownInstance) State() (st InstanceState, ok bool) {
	if in.StatusSince.IsZero() {
		return st, false
	}
	st = InstanceState{Status: in.Status, Since: in.StatusSince}
	if ShowsError(in.Status) {
		st.ErrorCode, st.ErrorInfo = in.Details.ErrorCode, in.Details.ErrorInfo
	}
	return st, true
}

// InstanceChange is a change of an instance's state at a valid time. Several
// changes at one instant leave the last one standing.
type InstanceChange struct {
	InstanceID string
	At         time.Time
	State      InstanceState
}

// recordChange notes the instance's state after an event if it changed.
func (k *KnownInvocation) recordChange(id string, in *KnownInstance, before InstanceState, had bool, at time.Time) {
	after, has := in.State()
	if has && (!had || after != before) {
		k.Changes = append(k.Changes, InstanceChange{InstanceID: id, At: at, State: after})
	}
}
