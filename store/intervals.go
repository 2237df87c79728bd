package store

import (
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
func queueIntervals(b *pgx.Batch, targetID int64, known []*model.KnownInvocation) int {
	var ids []string
	var closing intervalCloses
	var opening intervalOpens
	for _, k := range known {
		if len(k.Changes) == 0 {
			continue
		}
		ids = append(ids, k.InvokeID)
		for _, run := range changeRuns(k.Changes) {
			closing.add(k.InvokeID, run[0])
			opening.add(k.InvokeID, run)
		}
		k.Changes = nil
	}
	if len(ids) == 0 {
		return 0
	}
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
	b.Queue(`INSERT INTO archive.instance_intervals (invoke_id, target_id, instance_id, valid_from, valid_to, status,
			status_since, error_code, error_info)
		SELECT u.invoke_id, $1, u.instance_id, u.valid_from, u.valid_to, u.status, u.status_since, u.error_code, u.error_info
		FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::timestamptz[],
			$8::text[], $9::text[]) AS u (invoke_id, instance_id, valid_from, valid_to, status, status_since, error_code,
			error_info)
		ON CONFLICT (invoke_id, target_id, instance_id, valid_from) DO UPDATE SET valid_to = EXCLUDED.valid_to,
			status = EXCLUDED.status, status_since = EXCLUDED.status_since, error_code = EXCLUDED.error_code,
			error_info = EXCLUDED.error_info`,
		targetID, opening.invokeIDs, opening.instanceIDs, opening.from, opening.to, opening.statuses, opening.since,
		opening.codes, opening.infos)
	b.Queue(`SELECT archive.refresh_send_intervals($1, $2)`, targetID, ids)
	return len(ids)
}

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
