package cloudsim

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Command statuses beyond the send-file set, spelled as the API renders
// them.
const (
	StatusScheduled  = "Scheduled"
	StatusStopping   = "Stopping"
	StatusStopped    = "Stopped"
	StatusCancelled  = "Cancelled"
	StatusTerminated = "Terminated"
)

// Repeat modes of command tasks.
const (
	RepeatOnce   = "Once"
	RepeatPeriod = "Period"
)

// maxOutputBytes is where the API cuts a run's output; the rest is counted
// in Dropped.
const maxOutputBytes = 24 * 1024

// CommandTruth is the ground truth of one command task (one InvokeId) of
// ECS DescribeInvocations or EFLO DescribeInvocations. Times are UTC whole
// seconds, as rendered.
type CommandTruth struct {
	Region, InvokeID, CommandID, CommandName, CommandType string
	// CommandContent is the script, Base64-encoded as the API renders it by
	// default.
	CommandContent string
	Description    string
	Parameters     string // JSON text, e.g. {} or {"env":"prod"}
	RepeatMode     string // Once or Period
	Frequency      string // e.g. rate(15m) for Period; empty for Once
	Username       string
	WorkingDir     string
	// ResourceGroupID is filterable, not rendered.
	ResourceGroupID string
	Timeout         int64 // seconds
	Tags            []Tag
	CreationTime    time.Time
	// Instances are the targets (nodes for EFLO) in rendering order.
	Instances []CommandInstanceTruth
}

// CommandInstanceTruth is the whole lifecycle of one target of a command
// task, fixed at creation and revealed as the virtual clock passes.
type CommandInstanceTruth struct {
	InstanceID string // instance id, or node id for EFLO
	Creation   time.Time
	// Periodic is true for the instances of a Period task: Scheduled
	// between runs rather than Pending before the first.
	Periodic bool
	Runs     []RunTruth // in order; empty when it never started
	Final    string     // the status it ends in
	Finish   time.Time  // when Final is reached
	StopTime time.Time  // zero unless stopped by the user
	// ErrorCode and ErrorInfo belong to Final.
	ErrorCode, ErrorInfo string
}

// RunTruth is one run of a command on one instance.
type RunTruth struct {
	Repeats       int       // 1-based
	Start, Finish time.Time // Finish zero only if the run never ends (not generated)
	Status        string    // the run's result
	ExitCode      int64
	Output        string // the full text, before the 24 KB cut
	ErrorCode     string
	ErrorInfo     string
}

// StatusAt returns the instance's true status at t, and false before
// Creation. Each boundary belongs to the later status; at a periodic run's
// finish the instance is Scheduled again, except after the last run.
func (it CommandInstanceTruth) StatusAt(t time.Time) (string, bool) {
	switch {
	case t.Before(it.Creation):
		return "", false
	case !t.Before(it.Finish):
		return it.Final, true
	case !it.StopTime.IsZero() && len(it.Runs) > 0 && !t.Before(it.StopTime):
		return StatusStopping, true
	}
	for i := len(it.Runs) - 1; i >= 0; i-- {
		r := it.Runs[i]
		if t.Before(r.Start) {
			continue
		}
		if r.Finish.IsZero() || t.Before(r.Finish) {
			return StatusRunning, true
		}
		return StatusScheduled, true
	}
	if it.Periodic {
		return StatusScheduled, true
	}
	return StatusPending, true
}

// transitions lists every instant at which the instance's status changes.
func (it *CommandInstanceTruth) transitions() []time.Time {
	out := []time.Time{it.Creation}
	for _, r := range it.Runs {
		out = append(out, r.Start, r.Finish)
	}
	if !it.StopTime.IsZero() {
		out = append(out, it.StopTime)
	}
	return append(out, it.Finish)
}

// commandStopped and commandFailed are the classes of the documented
// command aggregate rule.
var (
	commandStopped = map[string]bool{StatusCancelled: true, StatusTerminated: true}
	commandFailed  = map[string]bool{StatusInvalid: true, StatusAborted: true, StatusFailed: true, StatusTimeout: true, StatusError: true}
	commandKnown   = map[string]bool{StatusPending: true, StatusScheduled: true, StatusRunning: true, StatusStopping: true,
		StatusSuccess: true, StatusCancelled: true, StatusTerminated: true, StatusInvalid: true, StatusAborted: true,
		StatusFailed: true, StatusTimeout: true, StatusError: true}
)

// commandAggregate is the documented InvocationStatus rule of command
// tasks, written out independently of the archive's implementation so the
// simulator can serve as an oracle for it.
func commandAggregate(statuses []string) string {
	n := map[string]int{}
	stopped, failed := 0, 0
	for _, st := range statuses {
		if !commandKnown[st] {
			return StatusUnknown
		}
		n[st]++
		if commandStopped[st] {
			stopped++
		}
		if commandFailed[st] {
			failed++
		}
	}
	switch {
	case len(statuses) == 0:
		return StatusUnknown
	case n[StatusPending] > 0:
		return StatusPending
	case n[StatusScheduled] > 0:
		return StatusScheduled
	case n[StatusRunning] > 0:
		return StatusRunning
	case n[StatusStopping] > 0:
		return StatusStopping
	case stopped == len(statuses):
		return StatusStopped
	case failed == 0:
		return StatusSuccess
	case n[StatusSuccess] == 0:
		return StatusFailed
	default:
		return StatusPartialFailed
	}
}

// aggregateAt is the task's aggregate over the instances existing at t.
func (ct *CommandTruth) aggregateAt(t time.Time) string {
	statuses := make([]string, 0, len(ct.Instances))
	for _, it := range ct.Instances {
		if st, ok := it.StatusAt(t); ok {
			statuses = append(statuses, st)
		}
	}
	return commandAggregate(statuses)
}

// statusesAt is TaskStatusAt for a command task.
func (ct *CommandTruth) statusesAt(t time.Time) (string, map[string]string, bool) {
	if t.Before(ct.CreationTime) {
		return "", nil, false
	}
	members := make(map[string]string, len(ct.Instances))
	for _, it := range ct.Instances {
		if st, ok := it.StatusAt(t); ok {
			members[it.InstanceID] = st
		}
	}
	return ct.aggregateAt(t), members, true
}

// timedAt reports whether a periodic task still has runs to come at t.
func (ct *CommandTruth) timedAt(t time.Time) bool {
	if ct.RepeatMode != RepeatPeriod {
		return false
	}
	for _, it := range ct.Instances {
		if t.Before(it.Finish) {
			return true
		}
	}
	return false
}

// clone deep-copies a command truth for callers.
func (ct CommandTruth) clone() CommandTruth {
	ct.Tags = append([]Tag(nil), ct.Tags...)
	ct.Instances = append([]CommandInstanceTruth(nil), ct.Instances...)
	for i := range ct.Instances {
		ct.Instances[i].Runs = append([]RunTruth(nil), ct.Instances[i].Runs...)
	}
	return ct
}

// Commands returns every ECS command task created up to Now(), in
// creation order, including evicted ones. The result is a deep copy.
func (s *Sim) Commands() []CommandTruth {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CommandTruth, 0, len(s.tasks[SourceCommands]))
	for _, tk := range s.tasks[SourceCommands] {
		out = append(out, tk.cmd.clone())
	}
	return out
}

// Command returns the ground truth of one ECS command task, if created.
func (s *Sim) Command(invokeID string) (CommandTruth, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tk := s.taskByID[invokeID]
	if tk == nil || tk.source != SourceCommands {
		return CommandTruth{}, false
	}
	return tk.cmd.clone(), true
}

// sortedRunsNewestFirst orders history results: newest run first, then by
// instance id.
func sortedRunsNewestFirst(rs []runRef) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if !a.run.Start.Equal(b.run.Start) {
			return a.run.Start.After(b.run.Start)
		}
		return a.inst.InstanceID < b.inst.InstanceID
	})
}

// runRef is one (instance, run) pair of a history listing.
type runRef struct {
	inst *CommandInstanceTruth
	run  *RunTruth
}

// commandScripts are the catalogue of commands by type: name, script.
var commandScripts = map[string][][2]string{
	"RunShellScript": {
		{"restart-nginx", "#!/bin/bash\nsystemctl restart nginx\nsystemctl status nginx --no-pager\n"},
		{"disk-usage", "#!/bin/bash\ndf -h\ndu -sh /var/log\n"},
		{"update-packages", "#!/bin/bash\nyum makecache\nyum update -y {{package}}\n"},
		{"os-release", "#!/bin/bash\ncat /etc/os-release\nuname -a\n"},
		{"deploy-app", "#!/bin/bash\ncd /opt/app && ./deploy.sh {{env}}\n"},
	},
	"RunPowerShellScript": {
		{"list-services", "Get-Service | Where-Object {$_.Status -eq 'Running'}\n"},
	},
	"RunBatScript": {
		{"ipconfig", "ipconfig /all\r\n"},
	},
}

// makeOutput writes a run's output: a few lines, or, for about 2% of runs,
// more than the 24 KB the API returns, so Dropped is exercised.
func makeOutput(g *rng, name, target string, repeats int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] run %d of %s on %s\n", name, repeats, name, target)
	for i := range 2 + g.intn(5) {
		fmt.Fprintf(&b, "line %02d: %s\n", i, g.alnum(12+g.intn(40)))
	}
	if g.float() < 0.02 {
		want := maxOutputBytes + 1 + g.intn(8*1024)
		for i := 0; b.Len() < want; i++ {
			fmt.Fprintf(&b, "verbose %06d: %s\n", i, g.alnum(48))
		}
		out := b.String()
		return out[:want]
	}
	return b.String()
}

// renderedOutput cuts a run's output at 24 KB and returns what is dropped.
func renderedOutput(full string) (string, int) {
	if len(full) <= maxOutputBytes {
		return full, 0
	}
	return full[:maxOutputBytes], len(full) - maxOutputBytes
}

// encodeText renders script content and output: Base64 by default, clear
// text for ContentEncoding=PlainText.
func encodeText(s string, plain bool) string {
	if plain {
		return s
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}
