package cloudsim

import (
	"math"
	"sort"
	"time"
)

// Record sources: one per operation that lists (or looks up) tasks. They
// name what TaskRef, Tasks, TaskStatusAt and TaskListed talk about.
const (
	SourceSendFile     = "ecs.DescribeSendFileResults"
	SourceCommands     = "ecs.DescribeInvocations"
	SourceEFLOSendFile = "eflo.DescribeSendFileResults"
	SourceEFLOCommands = "eflo.DescribeInvocations"
)

// taskSources are the sources held in streams, in the order their arrivals
// are materialized; ECS send-file keeps its own original machinery so its
// worlds stay byte-identical.
var taskSources = []string{SourceCommands, SourceEFLOSendFile, SourceEFLOCommands}

// TaskRef identifies one task of one source: what automation that started
// it would know.
type TaskRef struct {
	Source       string
	Region       string
	InvokeID     string
	CreationTime time.Time
}

// task is a materialized (or pending) task of one of taskSources.
type task struct {
	source  string
	region  *region
	key     sortKey
	evicted bool
	quirk   uint64 // base hash for stable per-field quirk choices (EFLO)

	cmd  *CommandTruth // command sources
	send *send         // EFLO send-file: truth plus quirk state
}

// creation is the task's CreationTime.
func (tk *task) creation() time.Time {
	if tk.cmd != nil {
		return tk.cmd.CreationTime
	}
	return tk.send.truth.CreationTime
}

// invokeID is the task's InvokeId.
func (tk *task) invokeID() string {
	if tk.cmd != nil {
		return tk.cmd.InvokeID
	}
	return tk.send.truth.InvokeID
}

// stream is one source's Poisson arrival process in one region and the
// tasks it still serves, oldest first (creation times strictly increase,
// so eviction only trims a prefix, as for sends).
type stream struct {
	source   string
	perDay   float64
	arrivals *rng
	lastAt   time.Time
	seq      int
	pending  *task
	list     []*task
}

// perDay is the configured arrival rate of a source; 0 disables it.
func (c Config) perDay(source string) float64 {
	switch source {
	case SourceCommands:
		return c.CommandsPerDay
	case SourceEFLOSendFile:
		return c.EFLOSendsPerDay
	case SourceEFLOCommands:
		return c.EFLOCommandsPerDay
	}
	return 0
}

// initStreams creates r's streams for the enabled sources. Each has its own
// arrival stream hashed from (seed, source, region), so enabling one never
// changes another, nor the send-file world.
func (s *Sim) initStreams(r *region) {
	r.streams = map[string]*stream{}
	if s.cfg.EFLOSendsPerDay > 0 || s.cfg.EFLOCommandsPerDay > 0 {
		s.initNodes(r)
	}
	for _, src := range taskSources {
		rate := s.cfg.perDay(src)
		if rate <= 0 {
			continue
		}
		st := &stream{source: src, perDay: rate, arrivals: newRNG(hashSeed(s.cfg.Seed, "arrivals", src, r.name)), lastAt: s.cfg.Start}
		r.streams[src] = st
		s.prepareNextTask(r, st)
	}
}

// prepareNextTask draws the stream's next arrival and builds that task.
func (s *Sim) prepareNextTask(r *region, st *stream) {
	gap := int64(math.Round(st.arrivals.exp() * 86400 / st.perDay))
	st.lastAt = st.lastAt.Add(time.Duration(max(gap, 1)) * time.Second)
	switch st.source {
	case SourceCommands:
		st.pending = s.buildCommand(r, st.seq, st.lastAt, false)
	case SourceEFLOCommands:
		st.pending = s.buildCommand(r, st.seq, st.lastAt, true)
	case SourceEFLOSendFile:
		st.pending = s.buildEFLOSend(r, st.seq, st.lastAt)
	}
	st.seq++
}

// advanceTasks materializes every task created at or before target, per
// source merging the regions by creation time (ties to the region listed
// first), then evicts by retention and the per-source record cap. Called
// with s.mu held, after the sends, so the send-file world is untouched.
func (s *Sim) advanceTasks(target time.Time) {
	for _, src := range taskSources {
		for {
			var next *stream
			var nextR *region
			for _, r := range s.regions {
				st := r.streams[src]
				if st == nil || st.pending.creation().After(target) {
					continue
				}
				if next == nil || st.pending.creation().Before(next.pending.creation()) {
					next, nextR = st, r
				}
			}
			if next == nil {
				break
			}
			tk := next.pending
			s.tasks[src] = append(s.tasks[src], tk)
			s.taskByID[tk.invokeID()] = tk
			next.list = append(next.list, tk)
			s.prepareNextTask(nextR, next)
		}
	}
	cutoff := target.Add(-s.cfg.Retention)
	for _, r := range s.regions {
		for _, st := range r.streams {
			st.evict(cutoff, s.cfg.MaxRecords)
		}
	}
}

// evict drops tasks older than cutoff and, with a cap, all but the newest
// maxRecords, exactly as region.evict does for sends.
func (st *stream) evict(cutoff time.Time, maxRecords int) {
	drop := sort.Search(len(st.list), func(i int) bool { return !st.list[i].creation().Before(cutoff) })
	if maxRecords > 0 && len(st.list)-drop > maxRecords {
		drop = len(st.list) - maxRecords
	}
	if drop == 0 {
		return
	}
	for _, tk := range st.list[:drop] {
		tk.evicted = true
	}
	st.list = append([]*task(nil), st.list[drop:]...)
}

// Tasks returns every task of source created up to Now(), in creation
// order, including those the API no longer serves. Unknown sources give nil.
func (s *Sim) Tasks(source string) []TaskRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	if source == SourceSendFile {
		out := make([]TaskRef, len(s.sends))
		for i, snd := range s.sends {
			out[i] = TaskRef{source, snd.truth.Region, snd.truth.InvokeID, snd.truth.CreationTime}
		}
		return out
	}
	var out []TaskRef
	for _, tk := range s.tasks[source] {
		out = append(out, TaskRef{source, tk.region.name, tk.invokeID(), tk.creation()})
	}
	return out
}

// TaskStatusAt is the true aggregate (by that source's documented rule) and
// the per-instance (per-node) statuses at t, counting only members that
// exist at t; ok is false before the task exists or when it is unknown.
// Instants after Now() are answered from the predetermined lifecycle.
func (s *Sim) TaskStatusAt(source, invokeID string, t time.Time) (aggregate string, members map[string]string, ok bool) {
	if source == SourceSendFile {
		return s.StatusAt(invokeID, t)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tk := s.taskByID[invokeID]
	if tk == nil || tk.source != source {
		return "", nil, false
	}
	if tk.send != nil {
		return tk.send.truth.statusesAt(t)
	}
	return tk.cmd.statusesAt(t)
}

// TaskListed reports whether the API still serves the task of source in
// region at Now(): it exists, belongs to region and has not been evicted.
func (s *Sim) TaskListed(source, region, invokeID string) bool {
	if source == SourceSendFile {
		return s.Listed(region, invokeID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tk := s.taskByID[invokeID]
	return tk != nil && tk.source == source && tk.region.name == region && !tk.evicted
}

// EFLOTaskTruth is the ground truth of one EFLO (Lingjun) task.
type EFLOTaskTruth struct {
	Kind         string // "send-file" or "command"
	Region       string
	InvokeID     string
	CreationTime time.Time
	// Send is set for Kind "send-file"; InstanceTruth.InstanceID holds the
	// node id.
	Send *SendTruth
	// Command is set for Kind "command"; instance ids are node ids.
	Command *CommandTruth
}

// EFLO task kinds.
const (
	EFLOKindSendFile = "send-file"
	EFLOKindCommand  = "command"
)

// EFLOTasks returns every EFLO task created up to Now(), in creation order
// (both kinds merged; ties keep send-file first), including evicted ones.
// The result is a deep copy.
func (s *Sim) EFLOTasks() []EFLOTaskTruth {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []EFLOTaskTruth
	for _, tk := range s.tasks[SourceEFLOSendFile] {
		st := tk.send.truth.clone()
		out = append(out, EFLOTaskTruth{Kind: EFLOKindSendFile, Region: st.Region, InvokeID: st.InvokeID, CreationTime: st.CreationTime, Send: &st})
	}
	for _, tk := range s.tasks[SourceEFLOCommands] {
		ct := tk.cmd.clone()
		out = append(out, EFLOTaskTruth{Kind: EFLOKindCommand, Region: ct.Region, InvokeID: ct.InvokeID, CreationTime: ct.CreationTime, Command: &ct})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreationTime.Before(out[j].CreationTime) })
	return out
}
