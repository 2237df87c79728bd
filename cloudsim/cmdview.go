package cloudsim

import (
	"time"
)

// cmdView is what the API shows of one command instance at an instant.
// Zero times are omitted from the rendering.
type cmdView struct {
	status                      string
	repeats                     int // runs started so far
	start, finish, stop, update time.Time
	run                         *RunTruth // the run whose exit code and output are shown, if any
	errCode, errInfo            string
	timed                       bool
}

// viewCommandInstance derives the instance's rendering at t: for a
// periodic instance between runs, status Scheduled with the latest
// finished run's times, exit code and output; for a running one, its start
// only; once final, the final run (if any) and the final error.
func viewCommandInstance(it *CommandInstanceTruth, t time.Time) cmdView {
	v := cmdView{update: it.Creation}
	v.status, _ = it.StatusAt(t)
	var started, finished *RunTruth
	for i := range it.Runs {
		r := &it.Runs[i]
		if t.Before(r.Start) {
			break
		}
		started, v.repeats = r, r.Repeats
		v.update = later(v.update, r.Start)
		if !r.Finish.IsZero() && !t.Before(r.Finish) {
			finished = r
			v.update = later(v.update, r.Finish)
		}
	}
	if !it.StopTime.IsZero() && !t.Before(it.StopTime) {
		v.stop = it.StopTime
		v.update = later(v.update, it.StopTime)
	}
	final := !t.Before(it.Finish)
	if final {
		v.update = later(v.update, it.Finish)
	}
	switch {
	case started != nil && started != finished:
		v.start = started.Start // running (or stopping): no result yet
	case finished != nil:
		v.start, v.finish, v.run = finished.Start, finished.Finish, finished
		v.errCode, v.errInfo = finished.ErrorCode, finished.ErrorInfo
	case final:
		v.finish = it.Finish
	}
	if final {
		v.errCode, v.errInfo = it.ErrorCode, it.ErrorInfo
	}
	v.timed = it.Periodic && !final
	return v
}

// later returns the later of two instants.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// runStatusAt is a run's own status at t for history results.
func runStatusAt(r *RunTruth, t time.Time) string {
	if r.Finish.IsZero() || t.Before(r.Finish) {
		return StatusRunning
	}
	return r.Status
}

// invokeRecordStatus maps an instance (or run) status to the
// InvokeRecordStatus of DescribeInvocationResults.
func invokeRecordStatus(status string) string {
	switch {
	case status == StatusPending || status == StatusScheduled:
		return "Pending"
	case status == StatusRunning:
		return "Running"
	case status == StatusStopping:
		return "Stopping"
	case commandStopped[status]:
		return "Stopped"
	case status == StatusSuccess:
		return "Finished"
	default:
		return "Failed"
	}
}

// legacyInstanceStatus is the deprecated InstanceInvokeStatus (and EFLO's
// NodeInvokeStatus), derived from the instance status.
func legacyInstanceStatus(status string) string {
	switch {
	case status == StatusScheduled:
		return "Running"
	case status == StatusPending || status == StatusRunning || status == StatusStopping:
		return status
	case commandStopped[status]:
		return "Stopped"
	case status == StatusSuccess:
		return "Finished"
	default:
		return "Failed"
	}
}

// legacyTaskStatus is the deprecated InvokeStatus of a task, derived from
// its aggregate.
func legacyTaskStatus(aggregate string) string {
	switch aggregate {
	case StatusPending, StatusRunning, StatusStopping, StatusStopped:
		return aggregate
	case StatusScheduled:
		return StatusRunning
	default:
		return "Finished"
	}
}

// fmtTime renders a whole-second instant in the clean layout, or "" for the
// zero time (omitted fields).
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(layoutClean)
}
