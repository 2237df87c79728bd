package cloudsim

import (
	"fmt"
	"time"
)

// Error codes of command instances, from the ECS and EFLO documentation.
var (
	errExitNonzero = errPair{"ExitCodeNonzero", "the command execution exit code is not zero"}
	errExecTimeout = errPair{"ExecutionTimeout", "the command execution has timed out"}
	errExecExcept  = errPair{"ExecutionException", "the command execution has failed with an exception"}

	ecsNeverRuns = map[string][]errPair{
		StatusInvalid: {{"CommandNotApplicable", "the command is not applicable to the instance"}},
		StatusAborted: {
			{"ClientNotRunning", "the aliyun service is not running on the instance"},
			{"DeliveryTimeout", "the command delivery has been timeout"},
		},
	}
	nodeNeverRuns = map[string][]errPair{
		StatusInvalid: {
			{"NodeNotExists", "the specified node does not exist"},
			{"NodeReleased", "the specified node has been released"},
			{"NodeNotRunning", "the node is not running when create task"},
		},
		StatusAborted: {
			{"ClientNotRunning", "the cloud assistant client is not running on the node"},
			{"DeliveryTimeout", "the command delivery has been timeout"},
		},
	}
)

// periodIntervals are the rates periodic tasks run at, with their
// Frequency rendering.
var periodIntervals = []struct {
	every time.Duration
	freq  string
}{
	{5 * time.Minute, "rate(5m)"}, {10 * time.Minute, "rate(10m)"}, {15 * time.Minute, "rate(15m)"},
	{30 * time.Minute, "rate(30m)"}, {time.Hour, "rate(1h)"},
}

// buildCommand generates command task number seq of r arriving at the
// whole second at, from a generator seeded by (seed, source, region, seq).
// EFLO tasks target nodes, use shorter ids and node error codes, carry no
// tags and are never periodic.
func (s *Sim) buildCommand(r *region, seq int, at time.Time, eflo bool) *task {
	src, idLen, fleet := SourceCommands, 20, r.fleet
	if eflo {
		src, idLen, fleet = SourceEFLOCommands, 15, r.nodes
	}
	g := newRNG(hashSeed(s.cfg.Seed, "task", src, r.name, fmt.Sprint(seq)))
	id := s.newTaskID(g, idLen)
	ct := &CommandTruth{Region: r.name, InvokeID: id, CreationTime: at, RepeatMode: RepeatOnce}
	ct.CommandType = "RunShellScript"
	if p := g.float(); p < 0.05 {
		ct.CommandType = "RunPowerShellScript"
	} else if p < 0.10 {
		ct.CommandType = "RunBatScript"
	}
	scripts := commandScripts[ct.CommandType]
	script := scripts[g.intn(len(scripts))]
	ct.CommandName = script[0]
	ct.CommandID = "c-" + newRNG(hashSeed(s.cfg.Seed, "command-id", src, r.name, script[0])).alnum(20)
	ct.CommandContent = encodeText(script[1], false)
	ct.Description = fmt.Sprintf("Run by %s, change %d", pushers[g.intn(len(pushers))], 1000+g.intn(9000))
	ct.Parameters = []string{"{}", `{"env":"prod"}`, `{"env":"staging"}`, `{"package":"openssl"}`}[g.intn(4)]
	ct.Timeout = g.between(60, 3600)
	if ct.CommandType == "RunShellScript" {
		ct.Username = []string{"root", ""}[g.intn(2)]
		ct.WorkingDir = []string{"/root", "/home/admin", ""}[g.intn(3)]
	} else {
		ct.WorkingDir = `C:\Windows\system32`
	}
	ct.ResourceGroupID = r.groups[g.intn(len(r.groups))]
	if !eflo {
		ct.Tags = pickTags(g, g.intn(4))
	}
	var every time.Duration
	var runs int
	if !eflo && g.float() < 0.2 {
		iv := periodIntervals[g.intn(len(periodIntervals))]
		ct.RepeatMode, ct.Frequency, every, runs = RepeatPeriod, iv.freq, iv.every, 3+g.intn(10)
	}
	n := 1 + g.intn(min(s.cfg.MaxInstancesPerSend, len(fleet)))
	for _, target := range pickInstances(g, fleet, n) {
		var it CommandInstanceTruth
		if ct.RepeatMode == RepeatPeriod {
			it = buildPeriodInstance(g, ct, target, every, runs)
		} else {
			it = buildOnceInstance(g, ct, target, eflo)
		}
		ct.Instances = append(ct.Instances, it)
	}
	return &task{source: src, region: r, cmd: ct, key: sortKey{ms: at.UnixMilli(), id: id},
		quirk: hashSeed(s.cfg.Seed, "quirk", id)}
}

// newTaskID draws a "t-" id of n characters not yet handed out.
func (s *Sim) newTaskID(g *rng, n int) string {
	for {
		id := "t-" + g.alnum(n)
		if !s.usedIDs[id] {
			s.usedIDs[id] = true
			return id
		}
	}
}

// buildOnceInstance generates one target of a Once task: it runs (with a
// result), never runs (Invalid, Aborted), or is stopped by the user
// (Cancelled before starting, or Stopping then Terminated while running).
func buildOnceInstance(g *rng, ct *CommandTruth, target string, eflo bool) CommandInstanceTruth {
	it := CommandInstanceTruth{InstanceID: target, Creation: ct.CreationTime}
	neverRuns := ecsNeverRuns
	if eflo {
		neverRuns = nodeNeverRuns
	}
	start := ct.CreationTime.Add(randDur(g, time.Second, 10*time.Minute, time.Second))
	timeout := time.Duration(ct.Timeout) * time.Second
	switch p := g.float(); {
	case p < 0.09:
		it.Final = StatusInvalid
		if p >= 0.05 {
			it.Final = StatusAborted
		}
		cat := neverRuns[it.Final]
		e := cat[g.intn(len(cat))]
		it.ErrorCode, it.ErrorInfo = e.code, e.info
		it.Finish = ct.CreationTime.Add(randDur(g, time.Second, 5*time.Second, time.Second))
	case p < 0.12:
		it.Final = StatusCancelled
		it.StopTime = ct.CreationTime.Add(randDur(g, time.Second, start.Sub(ct.CreationTime), time.Second))
		it.Finish = it.StopTime
		if !it.StopTime.Before(start) {
			it.StopTime = start.Add(-time.Second) // never after it would have started
			it.Finish = it.StopTime
		}
	case p < 0.15:
		it.Final = StatusTerminated
		it.StopTime = start.Add(randDur(g, time.Second, min(timeout-time.Second, 5*time.Minute), time.Second))
		it.Finish = it.StopTime.Add(randDur(g, time.Second, 5*time.Second, time.Second))
		it.Runs = []RunTruth{{Repeats: 1, Start: start, Finish: it.Finish, Status: StatusTerminated, ExitCode: 143,
			Output: makeOutput(g, ct.CommandName, target, 1)}}
	default:
		run := RunTruth{Repeats: 1, Start: start, Status: StatusSuccess, Output: makeOutput(g, ct.CommandName, target, 1)}
		run.Finish = start.Add(randDur(g, time.Second, min(timeout-time.Second, 2*time.Minute), time.Second))
		switch q := g.float(); {
		case q < 0.10:
			run.Status, run.ExitCode = StatusFailed, g.between(1, 255)
			run.ErrorCode, run.ErrorInfo = errExitNonzero.code, errExitNonzero.info
		case q < 0.15:
			run.Status, run.Finish = StatusTimeout, start.Add(timeout)
			run.ErrorCode, run.ErrorInfo = errExecTimeout.code, errExecTimeout.info
		case q < 0.20:
			run.Status = StatusError
			run.ErrorCode, run.ErrorInfo = errExecExcept.code, errExecExcept.info
		}
		it.Runs = []RunTruth{run}
		it.Final, it.Finish, it.ErrorCode, it.ErrorInfo = run.Status, run.Finish, run.ErrorCode, run.ErrorInfo
	}
	return it
}

// buildPeriodInstance generates one target of a Period task: runs k = 1..n
// starting at creation + k*every, each over well before the next.
func buildPeriodInstance(g *rng, ct *CommandTruth, target string, every time.Duration, n int) CommandInstanceTruth {
	it := CommandInstanceTruth{InstanceID: target, Creation: ct.CreationTime, Periodic: true}
	for k := 1; k <= n; k++ {
		start := ct.CreationTime.Add(time.Duration(k) * every)
		run := RunTruth{Repeats: k, Start: start, Status: StatusSuccess, Output: makeOutput(g, ct.CommandName, target, k)}
		run.Finish = start.Add(randDur(g, time.Second, 2*time.Minute, time.Second))
		if g.float() < 0.15 {
			run.Status, run.ExitCode = StatusFailed, g.between(1, 255)
			run.ErrorCode, run.ErrorInfo = errExitNonzero.code, errExitNonzero.info
		}
		it.Runs = append(it.Runs, run)
	}
	last := it.Runs[n-1]
	it.Final, it.Finish, it.ErrorCode, it.ErrorInfo = last.Status, last.Finish, last.ErrorCode, last.ErrorInfo
	return it
}
