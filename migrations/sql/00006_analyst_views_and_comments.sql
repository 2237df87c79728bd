-- The schema explains itself: views over the status intervals for analysts,
-- the target on every view, and a comment on every table and column an
-- analyst reads.

-- +goose Up
CREATE VIEW archive.send_status_intervals AS
SELECT s.target_id, t.account, t.region, t.source, s.invoke_id, s.status, s.valid_from, s.valid_to
FROM archive.send_intervals s JOIN archive.targets t ON t.id = s.target_id;
COMMENT ON VIEW archive.send_status_intervals IS
    'Each send''s derived status over valid time, one row per interval [valid_from, valid_to) (valid_to NULL: current). The status at T is the row with valid_from <= T < valid_to; no row: the send did not exist yet.';

CREATE VIEW archive.instance_status_intervals AS
SELECT i.target_id, t.account, t.region, t.source, i.invoke_id, i.instance_id, i.status, i.status_since,
       i.error_code, i.error_info, i.valid_from, i.valid_to
FROM archive.instance_intervals i JOIN archive.targets t ON t.id = i.target_id;
COMMENT ON VIEW archive.instance_status_intervals IS
    'Each instance''s status and error details over valid time, one row per interval [valid_from, valid_to) (valid_to NULL: current).';

-- sends gains its target and source (columns may only be added at the end).
CREATE OR REPLACE VIEW archive.sends AS
SELECT t.account, t.region, i.invoke_id, i.name, i.description, i.target_dir, i.file_owner, i.file_group,
       i.file_mode, i.overwrite, i.vm_count, i.creation_time, i.tags, i.reported_status, i.derived_status,
       i.disagreements, i.expired_at, i.content_sha256, i.content_type, t.source, i.target_id
FROM archive.invocations i JOIN archive.targets t ON t.id = i.target_id;

-- +goose StatementBegin
DO $$
DECLARE
    c record;
BEGIN
    -- Columns that mean the same wherever they appear.
    FOR c IN SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'archive' LOOP
        EXECUTE format('COMMENT ON COLUMN archive.%I.%I IS %L', c.table_name, c.column_name, CASE c.column_name
            WHEN 'target_id' THEN 'The target the row belongs to (archive.targets.id): one account, region and source.'
            WHEN 'account' THEN 'The account the records were read with (STS GetCallerIdentity); empty for archives made before accounts.'
            WHEN 'region' THEN 'The region id, e.g. cn-hangzhou.'
            WHEN 'source' THEN 'The record source, named after its API: ecs.DescribeSendFileResults.'
            WHEN 'invoke_id' THEN 'The send''s InvokeId, as the cloud names it.'
            WHEN 'instance_id' THEN 'The instance (or node) the file was sent to.'
            WHEN 'name' THEN 'The file name (Name).'
            WHEN 'description' THEN 'The send''s Description.'
            WHEN 'target_dir' THEN 'The directory the file was written to (TargetDir, whitespace trimmed).'
            WHEN 'file_owner' THEN 'The owner of the written file (FileOwner).'
            WHEN 'file_group' THEN 'The group of the written file (FileGroup).'
            WHEN 'file_mode' THEN 'The mode of the written file (FileMode), as text: 0644, 777.'
            WHEN 'overwrite' THEN 'Whether an existing file was to be overwritten (Overwrite); NULL when the source did not say.'
            WHEN 'vm_count' THEN 'How many instances the send targeted (VmCount).'
            WHEN 'creation_time' THEN 'When the cloud created it (CreationTime).'
            WHEN 'tags' THEN 'The send''s tags: a JSON array of {"key", "value"}, sorted.'
            WHEN 'reported_status' THEN 'The aggregate status the cloud reported (InvocationStatus).'
            WHEN 'derived_status' THEN 'The aggregate status derived now by the documented rule over the instances (archive.aggregate_status).'
            WHEN 'disagreements' THEN 'How many observations found the derived and the reported aggregate different.'
            WHEN 'expired_at' THEN 'When the cloud stopped listing the send (confirmed by a direct lookup); NULL while listed.'
            WHEN 'content_sha256' THEN 'SHA-256 of the file content (hex); the body is in archive.contents, readable by archive_content_reader.'
            WHEN 'content_type' THEN 'How the content was encoded: PlainText or Base64.'
            WHEN 'status' THEN 'The status, as the source reported it (per instance) or derived (per send); undocumented values are kept verbatim.'
            WHEN 'status_since' THEN 'Valid time of the event that set the current status.'
            WHEN 'error_code' THEN 'The error code the source gave (ErrorCode, trimmed); empty while Pending or Running and when none.'
            WHEN 'error_info' THEN 'The error message the source gave (ErrorInfo).'
            WHEN 'last_occurred_at' THEN 'Valid time of the last event applied (the projection''s clock).'
            WHEN 'start_time' THEN 'When the instance started receiving the file (StartTime).'
            WHEN 'finish_time' THEN 'When the instance finished (FinishTime).'
            WHEN 'valid_from' THEN 'Start of the interval (inclusive), in valid time.'
            WHEN 'valid_to' THEN 'End of the interval (exclusive); NULL while current.'
            WHEN 'last_seq' THEN 'Sequence number of the send''s last event.'
            ELSE coalesce(col_description(format('archive.%I', c.table_name)::regclass,
                 (SELECT ordinal_position FROM information_schema.columns x WHERE x.table_schema = 'archive'
                  AND x.table_name = c.table_name AND x.column_name = c.column_name)::int), '')
        END);
    END LOOP;
END;
$$;
-- +goose StatementEnd

COMMENT ON TABLE archive.targets IS 'What the archiver walks: one (account, region, source) each, with the head of its hash chain.';
COMMENT ON COLUMN archive.targets.id IS 'The target''s id, referenced as target_id everywhere.';
COMMENT ON COLUMN archive.targets.chain_head IS 'Hash of the last event of the target''s chain (32 zero bytes while empty).';
COMMENT ON COLUMN archive.targets.chain_length IS 'Number of events in the target''s chain.';
COMMENT ON COLUMN archive.targets.created_at IS 'When the archive first walked the target.';

COMMENT ON TABLE archive.ingest_runs IS 'One row per ingest cycle over one target: what it walked and wrote, and how it ended.';
COMMENT ON COLUMN archive.ingest_runs.id IS 'The run''s id (archive.events.run_id).';
COMMENT ON COLUMN archive.ingest_runs.started_at IS 'When the cycle started (the archiver''s clock).';
COMMENT ON COLUMN archive.ingest_runs.finished_at IS 'When it ended; NULL while running (or if the archiver was killed).';
COMMENT ON COLUMN archive.ingest_runs.outcome IS 'running, ok, failed, or interrupted (shut down mid-cycle).';
COMMENT ON COLUMN archive.ingest_runs.error IS 'Why it failed, in one sentence.';
COMMENT ON COLUMN archive.ingest_runs.complete_walk IS 'Whether it listed every page: only complete walks count for coverage and expiry.';
COMMENT ON COLUMN archive.ingest_runs.pages IS 'Pages listed.';
COMMENT ON COLUMN archive.ingest_runs.records IS 'Records listed (a send listed twice counts twice).';
COMMENT ON COLUMN archive.ingest_runs.events IS 'Events appended.';
COMMENT ON COLUMN archive.ingest_runs.api_calls IS 'HTTP calls to the API, retries included.';
COMMENT ON COLUMN archive.ingest_runs.retries IS 'Retried calls (throttling, 5xx, transport).';
COMMENT ON COLUMN archive.ingest_runs.expired IS 'Sends recorded as no longer listed.';
COMMENT ON COLUMN archive.ingest_runs.disagreements IS 'Observations where derived and reported aggregate differed.';
COMMENT ON COLUMN archive.ingest_runs.oldest_listed IS 'Creation time of the oldest record listed: coverage is computed from it.';
COMMENT ON COLUMN archive.ingest_runs.newest_listed IS 'Creation time of the newest record listed.';

COMMENT ON TABLE archive.invocations IS 'One row per send: its current state, folded from its events (rebuildable with archiver rebuild).';
COMMENT ON TABLE archive.instances IS 'One row per (send, instance): its current state, folded from its events.';
COMMENT ON VIEW archive.sends IS 'One row per archived send with its target, attributes, current derived and cloud-reported status, and expired_at.';
COMMENT ON TABLE archive.contents IS 'File bodies, stored once per SHA-256 (not readable by archive_reader: they can hold secrets).';
COMMENT ON COLUMN archive.contents.sha256 IS 'SHA-256 of the body as the cloud sent it (hex).';
COMMENT ON COLUMN archive.contents.content IS 'The body as the cloud sent it (Base64 when content_type says so); NUL replaced by U+FFFD.';
COMMENT ON COLUMN archive.contents.bytes IS 'Length of the body in bytes.';
COMMENT ON COLUMN archive.checkpoints.id IS 'The checkpoint''s id.';
COMMENT ON COLUMN archive.checkpoints.created_at IS 'When it was written.';
COMMENT ON COLUMN archive.checkpoints.document IS 'The checkpoint document exactly as written (JSON, DESIGN.md §10.4).';
COMMENT ON COLUMN archive.checkpoints.signature IS 'Raw Ed25519 signature of the document; NULL when unsigned.';

COMMENT ON COLUMN archive.events.id IS 'Global recording order of the event.';
COMMENT ON COLUMN archive.events.seq IS 'The event''s number within its send, from 1 without gaps: the idempotency and concurrency guard.';
COMMENT ON COLUMN archive.events.type IS
    'What the event records: invocation_discovered (the send''s attributes and tags in detail), invocation_attributes_changed, invocation_tags_changed, invocation_reported_status_changed (the cloud''s aggregate), invocation_source_expired (the cloud stopped listing it), instance_discovered (an instance''s times and error in detail), instance_status_changed (from_status -> to_status), instance_details_changed (times or error changed).';
COMMENT ON COLUMN archive.events.from_status IS 'Status before the transition; NULL when there was none.';
COMMENT ON COLUMN archive.events.to_status IS 'Status after the transition; NULL for events that are not transitions.';
COMMENT ON COLUMN archive.events.occurred_at IS 'Valid time: when it happened at the source, dated by the field evidence names.';
COMMENT ON COLUMN archive.events.recorded_at IS 'Transaction time: when the archive learned it (the database clock, one value per page).';
COMMENT ON COLUMN archive.events.evidence IS
    'Which source field dated occurred_at: CreationTime, StartTime, FinishTime, UpdateTime; instances (an aggregate change dated by the instance transition that caused it); observed (no field: the response''s Date header). A suffix ;clamped marks a time that went backwards and was raised to the previous event''s.';
COMMENT ON COLUMN archive.events.run_id IS 'The ingest run that wrote it (archive.ingest_runs.id).';
COMMENT ON COLUMN archive.events.detail IS
    'Normalised values the projections fold: {"attributes", "tags"} for invocation events, {"creation_time", "start_time", "finish_time", "error_code", "error_info"} for instance_discovered/details_changed, {"inferred": true, "observed_status"} for a lifecycle step the source never showed (reconstructed from a later observation, whose status the payload carries); NULL otherwise.';
COMMENT ON COLUMN archive.events.payload IS 'The fields exactly as the cloud sent them (values kept verbatim: strings, numbers, booleans as sent).';
COMMENT ON COLUMN archive.events.prev_hash IS 'Hash of the previous event of the target''s chain (32 zero bytes for the first).';
COMMENT ON COLUMN archive.events.hash IS 'SHA-256 over prev_hash and the event''s fields (DESIGN.md §10.3; the README says how to recompute it).';

-- +goose Down
DROP VIEW archive.sends;
CREATE VIEW archive.sends AS
SELECT t.account, t.region, i.invoke_id, i.name, i.description, i.target_dir, i.file_owner, i.file_group,
       i.file_mode, i.overwrite, i.vm_count, i.creation_time, i.tags, i.reported_status, i.derived_status,
       i.disagreements, i.expired_at, i.content_sha256, i.content_type
FROM archive.invocations i JOIN archive.targets t ON t.id = i.target_id;
COMMENT ON VIEW archive.sends IS 'One row per archived file send, with its current derived and cloud-reported status.';
DROP VIEW archive.instance_status_intervals;
DROP VIEW archive.send_status_intervals;
