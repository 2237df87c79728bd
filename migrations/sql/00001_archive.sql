-- The archive schema: the append-only event log, the projections folded from
-- it, the ingest runs, and the analyst-facing SQL functions.

-- +goose Up
-- The schema may already exist: goose keeps its bookkeeping table in it.
CREATE SCHEMA IF NOT EXISTS archive;

COMMENT ON SCHEMA archive IS 'Long-term archive of Cloud Assistant send-file history (DescribeSendFileResults).';

-- One target is one (account, region, source) the archiver walks. Its row also
-- carries the head of its hash chain; locking the row serialises appends.
CREATE TABLE archive.targets (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account      text        NOT NULL DEFAULT '',
    region       text        NOT NULL,
    source       text        NOT NULL DEFAULT 'ecs.DescribeSendFileResults',
    chain_head   bytea       NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000',
    chain_length bigint      NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account, region, source)
);

CREATE TABLE archive.ingest_runs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_id      bigint      NOT NULL REFERENCES archive.targets (id),
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    outcome        text        NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'ok', 'failed')),
    error          text,
    complete_walk  boolean     NOT NULL DEFAULT false,
    pages          integer     NOT NULL DEFAULT 0,
    records        integer     NOT NULL DEFAULT 0,
    events         integer     NOT NULL DEFAULT 0,
    api_calls      integer     NOT NULL DEFAULT 0,
    retries        integer     NOT NULL DEFAULT 0,
    expired        integer     NOT NULL DEFAULT 0,
    disagreements  integer     NOT NULL DEFAULT 0,
    oldest_listed  timestamptz,
    newest_listed  timestamptz
);
CREATE INDEX ingest_runs_target ON archive.ingest_runs (target_id, started_at);

-- File bodies, stored once per SHA-256 however many sends carried them.
CREATE TABLE archive.contents (
    sha256  text PRIMARY KEY,
    content text NOT NULL,
    bytes   integer NOT NULL
);

CREATE TABLE archive.events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_id   bigint      NOT NULL REFERENCES archive.targets (id),
    invoke_id   text        NOT NULL,
    instance_id text,
    seq         bigint      NOT NULL,
    type        text        NOT NULL,
    from_status text,
    to_status   text,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    evidence    text        NOT NULL,
    run_id      bigint REFERENCES archive.ingest_runs (id),
    detail      jsonb,
    payload     jsonb       NOT NULL,
    prev_hash   bytea       NOT NULL,
    hash        bytea       NOT NULL,
    UNIQUE (target_id, invoke_id, seq)
);
CREATE INDEX events_point_in_time ON archive.events (invoke_id, instance_id, occurred_at);
CREATE INDEX events_target_order ON archive.events (target_id, id);
CREATE INDEX events_occurred ON archive.events (occurred_at);

COMMENT ON TABLE archive.events IS
    'Append-only log of status transitions. occurred_at: valid time (dated by the source field named in evidence); recorded_at: when the archive learned it. Refuses UPDATE, DELETE and TRUNCATE.';

-- +goose StatementBegin
CREATE FUNCTION archive.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'archive.events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON archive.events
    FOR EACH ROW EXECUTE FUNCTION archive.refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON archive.events
    FOR EACH STATEMENT EXECUTE FUNCTION archive.refuse_change();

-- Projections: current state, folded from the events (and rebuildable from them).
CREATE TABLE archive.invocations (
    target_id        bigint      NOT NULL REFERENCES archive.targets (id),
    invoke_id        text        NOT NULL,
    name             text        NOT NULL,
    description      text        NOT NULL,
    content_sha256   text        NOT NULL,
    content_type     text        NOT NULL,
    target_dir       text        NOT NULL,
    file_owner       text        NOT NULL,
    file_group       text        NOT NULL,
    file_mode        text        NOT NULL,
    overwrite        boolean,
    vm_count         bigint,
    creation_time    timestamptz,
    tags             jsonb       NOT NULL,
    reported_status  text        NOT NULL,
    derived_status   text        NOT NULL,
    disagreements    bigint      NOT NULL,
    expired_at       timestamptz,
    last_seq         bigint      NOT NULL,
    last_occurred_at timestamptz NOT NULL,
    PRIMARY KEY (target_id, invoke_id)
);
CREATE INDEX invocations_creation ON archive.invocations (creation_time);

CREATE TABLE archive.instances (
    target_id        bigint      NOT NULL,
    invoke_id        text        NOT NULL,
    instance_id      text        NOT NULL,
    status           text        NOT NULL,
    status_since     timestamptz,
    last_occurred_at timestamptz NOT NULL,
    creation_time    timestamptz,
    start_time       timestamptz,
    finish_time      timestamptz,
    error_code       text        NOT NULL,
    error_info       text        NOT NULL,
    PRIMARY KEY (target_id, invoke_id, instance_id),
    FOREIGN KEY (target_id, invoke_id) REFERENCES archive.invocations (target_id, invoke_id)
);

-- The aggregate rule, mirroring model.Aggregate in Go (a property test keeps
-- them equal). F = {Invalid, Aborted, Failed, Timeout, Error}.
-- +goose StatementBegin
CREATE FUNCTION archive.aggregate_status(statuses text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN coalesce(cardinality(statuses), 0) = 0 THEN 'Unknown'
        WHEN EXISTS (SELECT 1 FROM unnest(statuses) s
                     WHERE s IS NULL OR s NOT IN ('Pending','Invalid','Running','Aborted','Success','Failed','Error','Timeout'))
            THEN 'Unknown'
        WHEN 'Pending' = ANY (statuses) THEN 'Pending'
        WHEN 'Running' = ANY (statuses) THEN 'Running'
        WHEN 'Success' = ALL (statuses) THEN 'Success'
        WHEN NOT ('Success' = ANY (statuses)) THEN 'Failed'
        ELSE 'PartialFailed'
    END
$$;
-- +goose StatementEnd
COMMENT ON FUNCTION archive.aggregate_status(text[]) IS
    'The documented aggregate rule over per-instance statuses; Unknown for no instances or an undocumented status.';

-- Per-instance status at valid time p_at, as known at transaction time
-- p_known_at: the last status event with occurred_at <= p_at (ties broken by
-- sequence), counting only instances that existed at p_at.
-- +goose StatementBegin
CREATE FUNCTION archive.instance_status_at(
    p_invoke_id text, p_at timestamptz, p_known_at timestamptz DEFAULT 'infinity')
RETURNS TABLE (target_id bigint, instance_id text, status text, since timestamptz, error_code text, error_info text)
LANGUAGE sql STABLE AS $$
    SELECT s.target_id, s.instance_id, s.to_status, s.occurred_at,
           CASE WHEN s.to_status IN ('Pending', 'Running') THEN '' ELSE coalesce(d.detail ->> 'error_code', '') END,
           CASE WHEN s.to_status IN ('Pending', 'Running') THEN '' ELSE coalesce(d.detail ->> 'error_info', '') END
    FROM (
        SELECT DISTINCT ON (e.target_id, e.instance_id) e.target_id, e.instance_id, e.to_status, e.occurred_at
        FROM archive.events e
        WHERE e.invoke_id = p_invoke_id AND e.type = 'instance_status_changed'
          AND e.occurred_at <= p_at AND e.recorded_at <= p_known_at
        ORDER BY e.target_id, e.instance_id, e.occurred_at DESC, e.seq DESC
    ) s
    LEFT JOIN LATERAL (
        SELECT e.detail FROM archive.events e
        WHERE e.target_id = s.target_id AND e.invoke_id = p_invoke_id AND e.instance_id = s.instance_id
          AND e.type IN ('instance_discovered', 'instance_details_changed')
          AND e.occurred_at <= p_at AND e.recorded_at <= p_known_at
        ORDER BY e.occurred_at DESC, e.seq DESC LIMIT 1
    ) d ON true
    ORDER BY s.target_id, s.instance_id
$$;
-- +goose StatementEnd
COMMENT ON FUNCTION archive.instance_status_at(text, timestamptz, timestamptz) IS
    'Status of each instance of a send at valid time p_at, as the archive knew it at p_known_at (default: everything recorded).';

-- +goose StatementBegin
CREATE FUNCTION archive.invocation_status_at(
    p_invoke_id text, p_at timestamptz, p_known_at timestamptz DEFAULT 'infinity')
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN NOT EXISTS (
            SELECT 1 FROM archive.events e
            WHERE e.invoke_id = p_invoke_id AND e.occurred_at <= p_at AND e.recorded_at <= p_known_at)
        THEN NULL
        ELSE archive.aggregate_status(coalesce(
            (SELECT array_agg(s.status) FROM archive.instance_status_at(p_invoke_id, p_at, p_known_at) s),
            '{}'))
    END
$$;
-- +goose StatementEnd
COMMENT ON FUNCTION archive.invocation_status_at(text, timestamptz, timestamptz) IS
    'Aggregate status of a send at valid time p_at as known at p_known_at; NULL when the archive has nothing on it at that time.';

-- Analyst-friendly current state.
CREATE VIEW archive.sends AS
SELECT t.account, t.region, i.invoke_id, i.name, i.description, i.target_dir, i.file_owner, i.file_group,
       i.file_mode, i.overwrite, i.vm_count, i.creation_time, i.tags, i.reported_status, i.derived_status,
       i.disagreements, i.expired_at, i.content_sha256, i.content_type
FROM archive.invocations i JOIN archive.targets t ON t.id = i.target_id;
COMMENT ON VIEW archive.sends IS 'One row per archived file send, with its current derived and cloud-reported status.';

-- +goose Down
-- Destroys every archived event: `archiver migrate down` refuses to run this
-- without --destroy-archive. The schema stays, with goose's bookkeeping in it.
DROP VIEW archive.sends;
DROP FUNCTION archive.invocation_status_at(text, timestamptz, timestamptz);
DROP FUNCTION archive.instance_status_at(text, timestamptz, timestamptz);
DROP FUNCTION archive.aggregate_status(text[]);
DROP TABLE archive.instances, archive.invocations, archive.events, archive.contents, archive.ingest_runs, archive.targets;
DROP FUNCTION archive.refuse_change();
