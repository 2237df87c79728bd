package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// invocationColumns are an invocation's own projection columns.
const invocationColumns = `i.invoke_id, i.name, i.description, i.content_sha256, i.content_type, i.target_dir,
	i.file_owner, i.file_group, i.file_mode, i.overwrite, i.vm_count, i.creation_time, i.tags, i.reported_status,
	i.disagreements, i.expired_at, i.last_seq, i.last_occurred_at, coalesce(i.command_id, ''),
	coalesce(i.parameters, ''), coalesce(i.repeat_mode, ''), coalesce(i.frequency, ''), i.timeout,
	coalesce(i.username, ''), coalesce(i.working_dir, '')`

// knownColumns are the columns of an invocation's projection, its instances
// folded in as a JSON array, in the order knownTargets scans them.
const knownColumns = invocationColumns + `,
	coalesce((SELECT jsonb_agg(jsonb_build_object(
	            'instance_id', x.instance_id, 'status', x.status, 'status_since', x.status_since,
	            'last_occurred_at', x.last_occurred_at, 'creation_time', x.creation_time,
	            'start_time', x.start_time, 'finish_time', x.finish_time,
	            'error_code', x.error_code, 'error_info', x.error_info, 'stop_time', x.stop_time,
	            'repeats', x.repeats, 'exit_code', x.exit_code, 'dropped', x.dropped,
	            'output_sha256', coalesce(x.output_sha256, '')))
	          FROM archive.instances x
	          WHERE x.target_id = i.target_id AND x.invoke_id = i.invoke_id), '[]'::jsonb)`

// Known reads the known state of a target's invocations outside any page
// transaction: what a cycle checks before deciding to ask the source more.
func (s *Store) Known(ctx context.Context, targetID int64, invokeIDs []string) (map[string]*model.KnownInvocation, error) {
	return loadKnown(ctx, s.pool, targetID, invokeIDs)
}

// loadKnown reads the projections of the given invocations in one query, the
// instances folded in as a JSON array.
func loadKnown(ctx context.Context, db DBTX, targetID int64, invokeIDs []string) (map[string]*model.KnownInvocation, error) {
	out := make(map[string]*model.KnownInvocation, len(invokeIDs))
	if len(invokeIDs) == 0 {
		return out, nil
	}
	// Planned afresh each time (an unnamed statement): a plan cached while
	// the archive was young scans the whole table for every page (8 ms a
	// page after 1,500 sends, and growing until the next ANALYZE).
	rows, err := db.Query(ctx, `SELECT `+knownColumns+` FROM unnest($2::text[]) AS u (invoke_id)
		JOIN archive.invocations i ON i.invoke_id = u.invoke_id AND i.target_id = $1`,
		pgx.QueryExecModeExec, targetID, invokeIDs)
	if err != nil {
		return nil, fmt.Errorf("load known state: %w", interpretError(err))
	}
	known, err := pgx.CollectRows(rows, scanKnown)
	if err != nil {
		return nil, fmt.Errorf("load known state: %w", interpretError(err))
	}
	for _, k := range known {
		out[k.InvokeID] = k
	}
	return out, nil
}

// scanKnown reads one row of knownColumns into a known state.
func scanKnown(row pgx.CollectableRow) (*model.KnownInvocation, error) {
	var kr knownRow
	if err := row.Scan(kr.targets()...); err != nil {
		return nil, err
	}
	return kr.known()
}

// knownRow holds the scan targets of knownColumns.
type knownRow struct {
	k               model.KnownInvocation
	tags, instances []byte
}

func (kr *knownRow) targets() []any {
	k, a := &kr.k, &kr.k.Attributes
	return []any{&k.InvokeID, &a.Name, &a.Description, &a.ContentSHA256, &a.ContentType, &a.TargetDir,
		&a.FileOwner, &a.FileGroup, &a.FileMode, &a.Overwrite, &a.VMCount, &a.CreationTime, &kr.tags,
		&k.ReportedStatus, &k.Disagreements, &k.ExpiredAt, &k.LastSeq, &k.LastOccurredAt, &a.CommandID,
		&a.Parameters, &a.RepeatMode, &a.Frequency, &a.Timeout, &a.Username, &a.WorkingDir, &kr.instances}
}

// known decodes the scanned row.
func (kr *knownRow) known() (*model.KnownInvocation, error) {
	k := &model.KnownInvocation{}
	*k = kr.k
	k.Instances = map[string]*model.KnownInstance{}
	a := &k.Attributes
	tags, instances := kr.tags, kr.instances
	utcPtr(&a.CreationTime)
	utcPtr(&k.ExpiredAt)
	k.LastOccurredAt = k.LastOccurredAt.UTC()
	if err := json.Unmarshal(tags, &k.Tags); err != nil {
		return nil, fmt.Errorf("tags of %s: %w", k.InvokeID, err)
	}
	var list []struct {
		InstanceID     string       `json:"instance_id"`
		Status         model.Status `json:"status"`
		StatusSince    *time.Time   `json:"status_since"`
		LastOccurredAt time.Time    `json:"last_occurred_at"`
		model.Details
	}
	if err := json.Unmarshal(instances, &list); err != nil {
		return nil, fmt.Errorf("instances of %s: %w", k.InvokeID, err)
	}
	for _, x := range list {
		in := &model.KnownInstance{Status: x.Status, LastOccurredAt: x.LastOccurredAt.UTC(), Details: x.Details}
		if x.StatusSince != nil {
			in.StatusSince = x.StatusSince.UTC()
		}
		utcPtr(&in.Details.CreationTime)
		utcPtr(&in.Details.StartTime)
		utcPtr(&in.Details.FinishTime)
		utcPtr(&in.Details.StopTime)
		k.Instances[x.InstanceID] = in
	}
	return k, nil
}

func utcPtr(t **time.Time) {
	if *t != nil {
		u := (*t).UTC()
		*t = &u
	}
}

// Projections are the statements that save some invocations' projections,
// their instances and their status intervals: one statement per table over
// arrays (unnest), not one per row, so a page costs a handful of statements
// however many sends and instances it holds, sent in one round trip.
// Building them is pure work, so a walk does it before the page's
// transaction (PlanProjections) and the transaction only sends them
// (Page.WriteProjections).
type Projections struct {
	batch              *pgx.Batch
	invocations, sends int
}

// PlanProjections builds the statements that save the given invocations'
// current state, with their source's aggregate rule (nil: the database
// computes every send's intervals). It clears each one's Changes.
func PlanProjections(targetID int64, known []*model.KnownInvocation, aggregate func([]model.Status) model.Status) (
	*Projections, error) {
	known = lastOfEach(known)
	pr := &Projections{batch: &pgx.Batch{}, invocations: len(known)}
	if len(known) == 0 {
		return pr, nil
	}
	// A send whose first event was folded here (new to the archive, or
	// rebuilt) has no rows yet: a plain insert saves the conflict check
	// of every row, a backfill's every row.
	fresh, stored := splitFresh(known)
	for _, q := range []struct {
		known                  []*model.KnownInvocation
		invocations, instances string
	}{{fresh, insertInvocations, insertInstances}, {stored, upsertInvocations, upsertInstances}} {
		if len(q.known) == 0 {
			continue
		}
		inv, err := invocationArrays(q.known)
		if err != nil {
			return nil, err
		}
		pr.batch.Queue(q.invocations, append([]any{targetID}, inv...)...)
		if ins := instanceArrays(q.known); len(ins) > 0 {
			pr.batch.Queue(q.instances, append([]any{targetID}, ins...)...)
		}
	}
	pr.sends = queueIntervals(pr.batch, targetID, known, aggregate)
	return pr, nil
}

// write sends the statements.
func (pr *Projections) write(ctx context.Context, db DBTX) error {
	if pr.batch.Len() == 0 {
		return nil
	}
	if err := db.SendBatch(ctx, pr.batch).Close(); err != nil {
		return pr.wrap(interpretError(err))
	}
	return nil
}

// wrap says which projections failed to save.
func (pr *Projections) wrap(err error) error {
	return fmt.Errorf("save projections of %d invocations (status intervals of %d): %w", pr.invocations, pr.sends, err)
}

// saveProjections plans and writes the given invocations' projections.
func saveProjections(ctx context.Context, db DBTX, targetID int64, known []*model.KnownInvocation,
	aggregate aggregateRule) error {
	pr, err := PlanProjections(targetID, known, aggregate)
	if err != nil {
		return err
	}
	return pr.write(ctx, db)
}

// splitFresh separates the invocations whose first event was folded in
// memory (FirstOccurredAt) from those loaded from the projections.
func splitFresh(known []*model.KnownInvocation) (fresh, stored []*model.KnownInvocation) {
	for _, k := range known {
		if k.FirstOccurredAt != nil {
			fresh = append(fresh, k)
		} else {
			stored = append(stored, k)
		}
	}
	return fresh, stored
}

// lastOfEach drops all but the last of invocations listed more than once,
// as one upsert statement may not touch a row twice.
func lastOfEach(known []*model.KnownInvocation) []*model.KnownInvocation {
	at := make(map[string]int, len(known))
	for i, k := range known {
		at[k.InvokeID] = i
	}
	if len(at) == len(known) {
		return known
	}
	out := make([]*model.KnownInvocation, 0, len(at))
	for i, k := range known {
		if at[k.InvokeID] == i {
			out = append(out, k)
		}
	}
	return out
}

const insertInvocations = `
	INSERT INTO archive.invocations (target_id, invoke_id, name, description, content_sha256, content_type,
		target_dir, file_owner, file_group, file_mode, overwrite, vm_count, creation_time, tags,
		reported_status, derived_status, disagreements, expired_at, last_seq, last_occurred_at,
		command_id, parameters, repeat_mode, frequency, timeout, username, working_dir)
	SELECT $1, u.invoke_id, u.name, u.description, u.content_sha256, u.content_type, u.target_dir, u.file_owner,
		u.file_group, u.file_mode, u.overwrite, u.vm_count, u.creation_time, u.tags::jsonb, u.reported_status,
		u.derived_status, u.disagreements, u.expired_at, u.last_seq, u.last_occurred_at, u.command_id, u.parameters,
		u.repeat_mode, u.frequency, u.timeout, u.username, u.working_dir
	FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
		$10::text[], $11::boolean[], $12::bigint[], $13::timestamptz[], $14::text[], $15::text[], $16::text[],
		$17::bigint[], $18::timestamptz[], $19::bigint[], $20::timestamptz[], $21::text[], $22::text[], $23::text[],
		$24::text[], $25::bigint[], $26::text[], $27::text[])
		AS u (invoke_id, name, description, content_sha256, content_type, target_dir, file_owner, file_group,
		file_mode, overwrite, vm_count, creation_time, tags, reported_status, derived_status, disagreements,
		expired_at, last_seq, last_occurred_at, command_id, parameters, repeat_mode, frequency, timeout, username,
		working_dir)`

const upsertInvocations = insertInvocations + `
	ON CONFLICT (target_id, invoke_id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description,
		content_sha256 = EXCLUDED.content_sha256, content_type = EXCLUDED.content_type,
		target_dir = EXCLUDED.target_dir, file_owner = EXCLUDED.file_owner, file_group = EXCLUDED.file_group,
		file_mode = EXCLUDED.file_mode, overwrite = EXCLUDED.overwrite, vm_count = EXCLUDED.vm_count,
		creation_time = EXCLUDED.creation_time, tags = EXCLUDED.tags,
		reported_status = EXCLUDED.reported_status, derived_status = EXCLUDED.derived_status,
		disagreements = EXCLUDED.disagreements, expired_at = EXCLUDED.expired_at,
		last_seq = EXCLUDED.last_seq, last_occurred_at = EXCLUDED.last_occurred_at,
		command_id = EXCLUDED.command_id, parameters = EXCLUDED.parameters, repeat_mode = EXCLUDED.repeat_mode,
		frequency = EXCLUDED.frequency, timeout = EXCLUDED.timeout, username = EXCLUDED.username,
		working_dir = EXCLUDED.working_dir`

// invocationArrays returns upsertInvocations' parameters after the target:
// one array per column, one element per invocation.
func invocationArrays(known []*model.KnownInvocation) ([]any, error) {
	n := len(known)
	text := func() []string { return make([]string, 0, n) }
	opt := func() []*string { return make([]*string, 0, n) }
	ids, names, descs, shas, ctypes, dirs, owners, groups, modes := text(), text(), text(), text(), text(), text(),
		text(), text(), text()
	tags, reported, derived := text(), text(), text()
	overwrite, vmCount, created := make([]*bool, 0, n), make([]*int64, 0, n), make([]*time.Time, 0, n)
	disagreements, lastSeq, expired := make([]int64, 0, n), make([]int64, 0, n), make([]*time.Time, 0, n)
	lastAt, timeout := make([]time.Time, 0, n), make([]*int64, 0, n)
	commandIDs, params, repeatModes, freqs, users, workDirs := opt(), opt(), opt(), opt(), opt(), opt()
	for _, k := range known {
		t, err := json.Marshal(nonNil(k.Tags))
		if err != nil {
			return nil, fmt.Errorf("encode tags of %s: %w", k.InvokeID, err)
		}
		a := k.Attributes
		ids, names, descs = append(ids, k.InvokeID), append(names, sanitizeText(a.Name)), append(descs, sanitizeText(a.Description))
		shas, ctypes = append(shas, a.ContentSHA256), append(ctypes, sanitizeText(a.ContentType))
		dirs, owners = append(dirs, sanitizeText(a.TargetDir)), append(owners, sanitizeText(a.FileOwner))
		groups, modes = append(groups, sanitizeText(a.FileGroup)), append(modes, sanitizeText(a.FileMode))
		overwrite, vmCount, created = append(overwrite, a.Overwrite), append(vmCount, a.VMCount), append(created, a.CreationTime)
		tags, reported = append(tags, string(t)), append(reported, sanitizeText(string(k.ReportedStatus)))
		derived, disagreements = append(derived, string(k.DerivedStatus())), append(disagreements, k.Disagreements)
		expired, lastSeq, lastAt = append(expired, k.ExpiredAt), append(lastSeq, k.LastSeq), append(lastAt, k.LastOccurredAt)
		commandIDs, params = append(commandIDs, optText(a.CommandID)), append(params, optText(a.Parameters))
		repeatModes, freqs = append(repeatModes, optText(a.RepeatMode)), append(freqs, optText(a.Frequency))
		timeout, users, workDirs = append(timeout, a.Timeout), append(users, optText(a.Username)), append(workDirs, optText(a.WorkingDir))
	}
	return []any{ids, names, descs, shas, ctypes, dirs, owners, groups, modes, overwrite, vmCount, created, tags,
		reported, derived, disagreements, expired, lastSeq, lastAt, commandIDs, params, repeatModes, freqs, timeout,
		users, workDirs}, nil
}

const insertInstances = `
	INSERT INTO archive.instances (target_id, invoke_id, instance_id, status, status_since, last_occurred_at,
		creation_time, start_time, finish_time, error_code, error_info, stop_time, repeats, exit_code, dropped,
		output_sha256)
	SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
		$7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[], $12::timestamptz[],
		$13::bigint[], $14::bigint[], $15::bigint[], $16::text[]) AS u`

const upsertInstances = insertInstances + `
	ON CONFLICT (target_id, invoke_id, instance_id) DO UPDATE SET status = EXCLUDED.status,
		status_since = EXCLUDED.status_since, last_occurred_at = EXCLUDED.last_occurred_at,
		creation_time = EXCLUDED.creation_time, start_time = EXCLUDED.start_time,
		finish_time = EXCLUDED.finish_time, error_code = EXCLUDED.error_code, error_info = EXCLUDED.error_info,
		stop_time = EXCLUDED.stop_time, repeats = EXCLUDED.repeats, exit_code = EXCLUDED.exit_code,
		dropped = EXCLUDED.dropped, output_sha256 = EXCLUDED.output_sha256`

// instanceArrays returns upsertInstances' parameters after the target, or
// nil when the invocations have no instances.
func instanceArrays(known []*model.KnownInvocation) []any {
	var invokeIDs, ids, statuses, codes, infos []string
	var since, created, started, finished, stopped []*time.Time
	var lastAt []time.Time
	var repeats, exits, dropped []*int64
	var outputs []*string
	for _, k := range known {
		for _, id := range k.InstanceIDs() {
			in := k.Instances[id]
			var s *time.Time
			if !in.StatusSince.IsZero() {
				s = &in.StatusSince
			}
			d := in.Details
			invokeIDs, ids, statuses = append(invokeIDs, k.InvokeID), append(ids, sanitizeText(id)), append(statuses, sanitizeText(string(in.Status)))
			since, lastAt = append(since, s), append(lastAt, in.LastOccurredAt)
			created, started, finished = append(created, d.CreationTime), append(started, d.StartTime), append(finished, d.FinishTime)
			codes, infos = append(codes, sanitizeText(d.ErrorCode)), append(infos, sanitizeText(d.ErrorInfo))
			stopped, repeats, exits = append(stopped, d.StopTime), append(repeats, d.Repeats), append(exits, d.ExitCode)
			dropped, outputs = append(dropped, d.Dropped), append(outputs, optText(d.OutputSHA256))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return []any{invokeIDs, ids, statuses, since, lastAt, created, started, finished, codes, infos, stopped, repeats,
		exits, dropped, outputs}
}

// optText is s as a nullable text value: nil when empty. Like the other
// text columns it is sanitized.
func optText(s string) *string {
	if s == "" {
		return nil
	}
	s = sanitizeText(s)
	return &s
}

func nonNil(tags []model.Tag) []model.Tag {
	if tags == nil {
		return []model.Tag{}
	}
	return tags
}

// sanitizeText replaces NUL, which PostgreSQL text cannot hold. The verbatim
// value survives in the event payload (where JSONBText does the same).
func sanitizeText(s string) string { return strings.ReplaceAll(s, "\x00", "\uFFFD") }
