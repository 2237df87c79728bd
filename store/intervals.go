package store

import (
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// queueIntervals queues the statements that turn the instance changes the
// fold recorded (k.Changes) into validity intervals: the open interval of a
// changed instance is closed where its first change starts, each change
// opens an interval that the next one closes, and the sends' intervals are
// recomputed from their instances'. Closing before opening, and upserting
// by start, makes a change at the very instant the open interval began
// replace it. It clears k.Changes and returns how many sends changed.
//
// A send whose whole history is in memory (its first event was folded
// here: a send new to the archive, or any send in a rebuild) has no stored
// intervals to close or reread: with its source's aggregate rule at hand,
// its send intervals are computed here (freshSends) instead of by
// archive.refresh_send_intervals, which was a fifth of a backfill's page
// transaction. The two agree exactly (TestFreshSendIntervalsMatchTheRefresh).
func queueIntervals(b *pgx.Batch, targetID int64, known []*model.KnownInvocation, aggregate aggregateRule) int {
	var ids []string
	var closing intervalCloses
	var opening, freshOpening intervalOpens
	var fresh freshSends
	for _, k := range known {
		if len(k.Changes) == 0 {
			continue
		}
		runs := changeRuns(k.Changes)
		for _, run := range runs {
			if k.FirstOccurredAt == nil {
				closing.add(k.InvokeID, run[0])
				opening.add(k.InvokeID, run)
			} else {
				freshOpening.add(k.InvokeID, run)
			}
		}
		if k.FirstOccurredAt != nil && aggregate != nil {
			fresh.add(k.InvokeID, runs, *k.FirstOccurredAt, aggregate)
		} else {
			ids = append(ids, k.InvokeID)
		}
		k.Changes = nil
	}
	if len(ids)+len(fresh.invokeIDs) == 0 {
		return 0
	}
	if len(closing.invokeIDs) > 0 {
		queueCloses(b, targetID, closing)
	}
	for _, o := range []struct {
		opens  intervalOpens
		insert string
	}{{freshOpening, insertIntervals}, {opening, upsertIntervals}} {
		if len(o.opens.invokeIDs) > 0 {
			b.Queue(o.insert, targetID, o.opens.invokeIDs, o.opens.instanceIDs, o.opens.from, o.opens.to,
				o.opens.statuses, o.opens.since, o.opens.codes, o.opens.infos)
		}
	}
	if len(fresh.invokeIDs) > 0 {
		b.Queue(`INSERT INTO archive.send_intervals (target_id, invoke_id, valid_from, valid_to, status)
			SELECT $1, u.* FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[]) AS u`,
			targetID, fresh.invokeIDs, fresh.from, fresh.to, fresh.statuses)
	}
	if len(ids) > 0 {
		b.Queue(`SELECT archive.refresh_send_intervals($1, $2)`, targetID, ids)
	}
	return len(ids) + fresh.sends
}

// queueCloses closes the open intervals of the changed instances of sends
// already stored.
func queueCloses(b *pgx.Batch, targetID int64, closing intervalCloses) {
	// This statement joins arrays whose length varies page by page with a
	// table that grows. A generic plan (what a cached prepared statement
	// settles on after five runs) is made for some length and the table's
	// size at that moment: one made while the archive was small scanned the
	// whole interval table, and kept that (400 ms a page) as the table grew.
	// Its custom plans cost a fraction of a millisecond and follow the data.
	// (The upserts' plans have no choice to make: their generic plans stay.)
	// "invoke_id = ANY" bounds the rows joined by the page's sends whatever
	// plan the statistics of a young archive lead to (without it, a nested
	// loop over the whole table was chosen, and cost 100 ms a page).
	b.Queue(`SET LOCAL plan_cache_mode = force_custom_plan`)
	b.Queue(`UPDATE archive.instance_intervals i SET valid_to = u.valid_to
		FROM unnest($2::text[], $3::text[], $4::timestamptz[]) AS u (invoke_id, instance_id, valid_to)
		WHERE i.invoke_id = ANY ($2) AND i.target_id = $1 AND i.valid_to IS NULL
		  AND i.invoke_id = u.invoke_id AND i.instance_id = u.instance_id`,
		targetID, closing.invokeIDs, closing.instanceIDs, closing.at)
}

// insertIntervals opens the intervals of changed instances; upsertIntervals
// also replaces an interval that began at the same instant (a send already
// stored).
const insertIntervals = `INSERT INTO archive.instance_intervals (invoke_id, target_id, instance_id, valid_from,
		valid_to, status, status_since, error_code, error_info)
	SELECT u.invoke_id, $1, u.instance_id, u.valid_from, u.valid_to, u.status, u.status_since, u.error_code, u.error_info
	FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::timestamptz[],
		$8::text[], $9::text[]) AS u (invoke_id, instance_id, valid_from, valid_to, status, status_since, error_code,
		error_info)`

const upsertIntervals = insertIntervals + `
	ON CONFLICT (invoke_id, target_id, instance_id, valid_from) DO UPDATE SET valid_to = EXCLUDED.valid_to,
		status = EXCLUDED.status, status_since = EXCLUDED.status_since, error_code = EXCLUDED.error_code,
		error_info = EXCLUDED.error_info`

// freshSends are the send intervals of sends whose whole history is in
// memory, as arrays.
type freshSends struct {
	invokeIDs, statuses []string
	from                []time.Time
	to                  []*time.Time
	sends               int
}

// span is one instance interval as archive.instance_intervals stores it.
type span struct {
	from, to time.Time // to is zero while open
	status   model.Status
}

// add computes one send's intervals from its instances' change runs and its
// first event's valid time, as archive.refresh_send_intervals does from the
// stored rows (whose times are whole microseconds): the instants are the
// first event and every instance interval's start; at each, the aggregate
// rule over the statuses of the instance intervals covering it; an instant
// whose status equals the one before it is not a new interval.
func (f *freshSends) add(invokeID string, runs [][]model.InstanceChange, first time.Time,
	aggregate aggregateRule) {
	var spans []span
	points := []time.Time{microseconds(first)}
	for _, run := range runs {
		for i, c := range run {
			sp := span{from: microseconds(c.At), status: model.Status(sanitizeText(string(c.State.Status)))}
			if i+1 < len(run) {
				sp.to = microseconds(run[i+1].At)
			}
			spans = append(spans, sp)
			points = append(points, sp.from)
		}
	}
	slices.SortFunc(points, time.Time.Compare)
	points = slices.CompactFunc(points, time.Time.Equal)
	f.sends++
	kept := 0
	var statuses []model.Status
	for _, t := range points {
		statuses = statuses[:0]
		for _, sp := range spans {
			if !sp.from.After(t) && (sp.to.IsZero() || sp.to.After(t)) {
				statuses = append(statuses, sp.status)
			}
		}
		status := string(aggregate(statuses))
		if kept > 0 && f.statuses[len(f.statuses)-1] == status {
			continue
		}
		if kept > 0 {
			f.to[len(f.to)-1] = &t
		}
		f.invokeIDs, f.from, f.to = append(f.invokeIDs, invokeID), append(f.from, t), append(f.to, nil)
		f.statuses = append(f.statuses, status)
		kept++
	}
}

// microseconds is t as PostgreSQL stores it.
func microseconds(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// intervalCloses are the open intervals to close, as arrays: each changed
// instance's ends where its first change starts.
type intervalCloses struct {
	invokeIDs, instanceIDs []string
	at                     []time.Time
}

func (c *intervalCloses) add(invokeID string, first model.InstanceChange) {
	c.invokeIDs = append(c.invokeIDs, invokeID)
	c.instanceIDs = append(c.instanceIDs, sanitizeText(first.InstanceID))
	c.at = append(c.at, first.At)
}

// intervalOpens are the intervals the changes open, as arrays.
type intervalOpens struct {
	invokeIDs, instanceIDs, statuses, codes, infos []string
	from, since                                    []time.Time
	to                                             []*time.Time
}

// add opens one interval per change of one instance's run; each but the
// last ends where the next begins.
func (o *intervalOpens) add(invokeID string, run []model.InstanceChange) {
	id := sanitizeText(run[0].InstanceID)
	for i, c := range run {
		var to *time.Time
		if i+1 < len(run) {
			to = &run[i+1].At
		}
		s := c.State
		o.invokeIDs, o.instanceIDs = append(o.invokeIDs, invokeID), append(o.instanceIDs, id)
		o.from, o.to = append(o.from, c.At), append(o.to, to)
		o.statuses, o.since = append(o.statuses, sanitizeText(string(s.Status))), append(o.since, s.Since)
		o.codes, o.infos = append(o.codes, sanitizeText(s.ErrorCode)), append(o.infos, sanitizeText(s.ErrorInfo))
	}
}

// changeRuns groups changes by instance, in order, keeping the last change
// of each instant (the state at an instant is the one after all its events).
func changeRuns(changes []model.InstanceChange) [][]model.InstanceChange {
	byInstance := map[string]int{}
	var runs [][]model.InstanceChange
	for _, c := range changes {
		i, ok := byInstance[c.InstanceID]
		if !ok {
			i = len(runs)
			byInstance[c.InstanceID] = i
			runs = append(runs, nil)
		}
		r := runs[i]
		if n := len(r); n > 0 && r[n-1].At.Equal(c.At) {
			r[n-1] = c
		} else {
			r = append(r, c)
		}
		runs[i] = r
	}
	return runs
}

// aggregateRule is a source's aggregate rule (model.Rules.Aggregate); nil
// when the source is not known, and then the database computes every send's
// intervals.
type aggregateRule = func([]model.Status) model.Status

// aggregateOf returns a source's aggregate rule, nil for a source this
// build does not know.
func aggregateOf(source string) aggregateRule {
	rules, err := model.RulesFor(model.SourceID(source))
	if err != nil {
		return nil
	}
	return rules.Aggregate
}
