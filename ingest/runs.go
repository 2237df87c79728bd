package ingest

import (
	"context"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
)

// runResulter is what a command source offers beyond its listing: each
// task's run results with their output (DescribeInvocationResults), and
// with history every run of a repeating task.
type runResulter interface {
	RunResults(ctx context.Context, invokeID string, history bool) ([]model.Instance, source.Stats, error)
}

// withRuns completes a batch of command tasks before it is stored. The
// listing shows each instance's latest run only and no output: a task with
// a run finished since the archive last saw it is asked for its results,
// whose output is attached; for a repeating task, every run the archive
// missed between two polls becomes an observation of its own (Running at its
// start, Scheduled again at its finish), so each run is in the log and the
// status at any instant is exact. Tasks with nothing new cost no call.
func (r *recorder) withRuns(ctx context.Context, b batch, known map[string]*model.KnownInvocation) (batch, error) {
	var out []model.Invocation
	for _, inv := range b.observed {
		k := known[inv.InvokeID]
		inv = withKnownOutputs(k, inv)
		if !hasNewRun(k, inv) {
			out = append(out, inv)
			continue
		}
		repeating := inv.Attributes.RepeatMode != "" && inv.Attributes.RepeatMode != "Once"
		results, st, err := r.results.RunResults(ctx, inv.InvokeID, repeating)
		b.calls.Calls += st.Calls
		b.calls.Retries += st.Retries
		if err != nil {
			return b, err
		}
		if repeating {
			out = append(out, missedRuns(k, inv, results)...)
		}
		out = append(out, withOutputs(inv, results))
	}
	b.observed = out
	return b, nil
}

// hasNewRun reports whether an observed task shows a run the archive has
// not recorded the result of: a finish or a run number it does not know.
func hasNewRun(k *model.KnownInvocation, inv model.Invocation) bool {
	for _, in := range inv.Instances {
		var prev *model.KnownInstance
		if k != nil {
			prev = k.Instances[in.InstanceID]
		}
		if prev == nil {
			if in.FinishTime != nil || value(in.Repeats) > 1 {
				return true
			}
			continue
		}
		if !sameTime(prev.Details.FinishTime, in.FinishTime) || value(prev.Details.Repeats) != value(in.Repeats) {
			return true
		}
	}
	return false
}

// withKnownOutputs gives each observed instance that shows the run the
// archive already knows the output hash the archive recorded for it: the
// listing never carries output, and without this every later poll would
// record the output as gone.
func withKnownOutputs(k *model.KnownInvocation, inv model.Invocation) model.Invocation {
	if k == nil {
		return inv
	}
	out := inv
	out.Instances = append([]model.Instance(nil), inv.Instances...)
	for i, in := range out.Instances {
		prev := k.Instances[in.InstanceID]
		if prev == nil || in.OutputSHA256 != "" || prev.Details.OutputSHA256 == "" ||
			!sameTime(prev.Details.FinishTime, in.FinishTime) || value(prev.Details.Repeats) != value(in.Repeats) {
			continue
		}
		out.Instances[i].OutputSHA256 = prev.Details.OutputSHA256
	}
	return out
}

// withOutputs attaches to each observed instance the output of the run it
// shows finished.
func withOutputs(inv model.Invocation, results []model.Instance) model.Invocation {
	out := inv
	out.Instances = append([]model.Instance(nil), inv.Instances...)
	for i, in := range out.Instances {
		if in.FinishTime == nil {
			continue
		}
		for _, res := range results {
			if res.InstanceID == in.InstanceID && sameTime(res.FinishTime, in.FinishTime) && res.OutputSHA256 != "" {
				out.Instances[i].Output, out.Instances[i].OutputSHA256 = res.Output, res.OutputSHA256
				if out.Instances[i].Dropped == nil {
					out.Instances[i].Dropped = res.Dropped
				}
			}
		}
	}
	return out
}

// missedRuns are the observations of a repeating task's runs that started
// after the last one the archive knows of and before the one the listing
// shows (that one too when it has finished: the listing then shows the
// instance waiting again). Results come ordered by instance and run.
func missedRuns(k *model.KnownInvocation, inv model.Invocation, results []model.Instance) []model.Invocation {
	var out []model.Invocation
	reported, rawStatus := inv.ReportedStatus, inv.RawStatus
	if k != nil {
		reported, rawStatus = k.ReportedStatus, nil
	}
	for _, in := range inv.Instances {
		var seen int64
		var was model.Status
		if k != nil && k.Instances[in.InstanceID] != nil {
			seen, was = value(k.Instances[in.InstanceID].Details.Repeats), k.Instances[in.InstanceID].Status
		}
		shown := value(in.Repeats)
		for _, run := range results {
			n := value(run.Repeats)
			if run.InstanceID != in.InstanceID || n < seen || n > shown || run.StartTime == nil {
				continue
			}
			ended := n < shown && run.FinishTime != nil
			if n == seen {
				// The archive saw this run in progress: only its end is new.
				if was == model.StatusRunning && ended {
					out = append(out, single(inv, runObservation(in, run, model.StatusScheduled), reported, rawStatus))
				}
				continue
			}
			if n == shown && (in.Status == model.StatusRunning || in.FinishTime == nil) {
				continue // the listing itself shows this run in progress
			}
			out = append(out, single(inv, runObservation(in, run, model.StatusRunning), reported, rawStatus))
			if ended {
				out = append(out, single(inv, runObservation(in, run, model.StatusScheduled), reported, rawStatus))
			}
		}
	}
	return out
}

// runObservation is an instance as it stood during (Running) or after
// (Scheduled) one run, its verbatim fields the run's result.
func runObservation(in, run model.Instance, status model.Status) model.Instance {
	o := model.Instance{InstanceID: in.InstanceID, Status: status, CreationTime: in.CreationTime,
		StartTime: run.StartTime, UpdateTime: run.StartTime, Repeats: run.Repeats, Raw: run.Raw}
	if status != model.StatusRunning {
		o.FinishTime, o.UpdateTime = run.FinishTime, run.FinishTime
		o.ExitCode, o.Dropped, o.ErrorCode, o.ErrorInfo = run.ExitCode, run.Dropped, run.ErrorCode, run.ErrorInfo
		o.Output, o.OutputSHA256 = run.Output, run.OutputSHA256
	}
	return o
}

// single is inv observed with one instance only, its reported status as
// the archive knew it (the cloud's aggregate of then is not shown).
func single(inv model.Invocation, in model.Instance, reported model.Status, rawStatus any) model.Invocation {
	o := inv
	o.Instances = []model.Instance{in}
	o.ReportedStatus = reported
	if rawStatus != nil {
		o.RawStatus = rawStatus
	}
	return o
}

func value(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
