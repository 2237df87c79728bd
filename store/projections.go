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
	rows, err := db.Query(ctx, `SELECT `+knownColumns+` FROM archive.invocations i
		WHERE i.target_id = $1 AND i.invoke_id = ANY ($2)`, targetID, invokeIDs)
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

// saveProjections upserts invocations and their instances in one round trip.
func saveProjections(ctx context.Context, db DBTX, targetID int64, known []*model.KnownInvocation) error {
	if len(known) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for _, k := range known {
		tags, err := json.Marshal(nonNil(k.Tags))
		if err != nil {
			return fmt.Errorf("encode tags of %s: %w", k.InvokeID, err)
		}
		a := k.Attributes
		batch.Queue(`
			INSERT INTO archive.invocations (target_id, invoke_id, name, description, content_sha256, content_type,
				target_dir, file_owner, file_group, file_mode, overwrite, vm_count, creation_time, tags,
				reported_status, derived_status, disagreements, expired_at, last_seq, last_occurred_at,
				command_id, parameters, repeat_mode, frequency, timeout, username, working_dir)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
				$21, $22, $23, $24, $25, $26, $27)
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
				working_dir = EXCLUDED.working_dir`,
			targetID, k.InvokeID, sanitizeText(a.Name), sanitizeText(a.Description), a.ContentSHA256,
			sanitizeText(a.ContentType), sanitizeText(a.TargetDir), sanitizeText(a.FileOwner), sanitizeText(a.FileGroup),
			sanitizeText(a.FileMode), a.Overwrite, a.VMCount, a.CreationTime, json.RawMessage(tags),
			sanitizeText(string(k.ReportedStatus)), k.DerivedStatus(), k.Disagreements, k.ExpiredAt, k.LastSeq, k.LastOccurredAt,
			nullable(sanitizeText(a.CommandID)), nullable(sanitizeText(a.Parameters)), nullable(sanitizeText(a.RepeatMode)),
			nullable(sanitizeText(a.Frequency)), a.Timeout, nullable(sanitizeText(a.Username)), nullable(sanitizeText(a.WorkingDir)))
		for _, id := range k.InstanceIDs() {
			in := k.Instances[id]
			var since *time.Time
			if !in.StatusSince.IsZero() {
				since = &in.StatusSince
			}
			batch.Queue(`
				INSERT INTO archive.instances (target_id, invoke_id, instance_id, status, status_since, last_occurred_at,
					creation_time, start_time, finish_time, error_code, error_info,
					stop_time, repeats, exit_code, dropped, output_sha256)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
				ON CONFLICT (target_id, invoke_id, instance_id) DO UPDATE SET status = EXCLUDED.status,
					status_since = EXCLUDED.status_since, last_occurred_at = EXCLUDED.last_occurred_at,
					creation_time = EXCLUDED.creation_time, start_time = EXCLUDED.start_time,
					finish_time = EXCLUDED.finish_time, error_code = EXCLUDED.error_code, error_info = EXCLUDED.error_info,
					stop_time = EXCLUDED.stop_time, repeats = EXCLUDED.repeats, exit_code = EXCLUDED.exit_code,
					dropped = EXCLUDED.dropped, output_sha256 = EXCLUDED.output_sha256`,
				targetID, k.InvokeID, sanitizeText(id), sanitizeText(string(in.Status)), since, in.LastOccurredAt,
				in.Details.CreationTime, in.Details.StartTime, in.Details.FinishTime,
				sanitizeText(in.Details.ErrorCode), sanitizeText(in.Details.ErrorInfo), in.Details.StopTime,
				in.Details.Repeats, in.Details.ExitCode, in.Details.Dropped, nullable(in.Details.OutputSHA256))
		}
	}
	if err := db.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("save projections of %d invocations: %w", len(known), interpretError(err))
	}
	return saveIntervals(ctx, db, targetID, known)
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
