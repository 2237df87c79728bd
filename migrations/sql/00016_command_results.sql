-- Command sources (ecs.DescribeInvocations, eflo.DescribeInvocations) in the
-- projections and in the SQL point-in-time answers. A command's own
-- attributes sit beside a send's (NULL for sends), a run's results beside
-- an instance's times; the intervals and the status functions apply each
-- target's own documented aggregate rule (archive.aggregate_status_for).

-- +goose Up
ALTER TABLE archive.invocations
    ADD COLUMN command_id text, ADD COLUMN parameters text, ADD COLUMN repeat_mode text,
    ADD COLUMN frequency text, ADD COLUMN timeout bigint, ADD COLUMN username text, ADD COLUMN working_dir text;
COMMENT ON COLUMN archive.invocations.command_id IS 'Commands: the CommandId run (name, description, type and script hash are in name, description, content_type, content_sha256). NULL for sends.';
COMMENT ON COLUMN archive.invocations.parameters IS 'Commands: the Parameters given to the run (JSON text). NULL for sends.';
COMMENT ON COLUMN archive.invocations.repeat_mode IS 'Commands: Once, Period, NextRebootOnly or EveryReboot. NULL for sends.';
COMMENT ON COLUMN archive.invocations.frequency IS 'Commands: the schedule of a repeating run, e.g. rate(15m). NULL for sends.';
COMMENT ON COLUMN archive.invocations.timeout IS 'Commands: the run timeout in seconds. NULL for sends.';
COMMENT ON COLUMN archive.invocations.username IS 'Commands: the user the command ran as. NULL for sends.';
COMMENT ON COLUMN archive.invocations.working_dir IS 'Commands: the working directory. NULL for sends.';

ALTER TABLE archive.instances
    ADD COLUMN stop_time timestamptz, ADD COLUMN repeats bigint, ADD COLUMN exit_code bigint,
    ADD COLUMN dropped bigint, ADD COLUMN output_sha256 text;
COMMENT ON COLUMN archive.instances.stop_time IS 'Commands: when the run was stopped by its user. NULL for sends.';
COMMENT ON COLUMN archive.instances.repeats IS 'Commands: how many runs have started on this instance (periodic commands run many times; every run is in the event log).';
COMMENT ON COLUMN archive.instances.exit_code IS 'Commands: the exit code of the latest finished run.';
COMMENT ON COLUMN archive.instances.dropped IS 'Commands: bytes of output the cloud cut beyond its 24 KB limit.';
COMMENT ON COLUMN archive.instances.output_sha256 IS 'Commands: SHA-256 of the latest run''s output; the text is in archive.contents, stored once per hash.';

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.refresh_send_intervals(p_target bigint, p_invoke_ids text[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM archive.send_intervals WHERE target_id = p_target AND invoke_id = ANY (p_invoke_ids);
    INSERT INTO archive.send_intervals (target_id, invoke_id, valid_from, valid_to, status)
    WITH points AS (
        SELECT i.invoke_id, i.valid_from AS t FROM archive.instance_intervals i
        WHERE i.target_id = p_target AND i.invoke_id = ANY (p_invoke_ids)
        UNION
        SELECT e.invoke_id, e.occurred_at FROM archive.events e
        WHERE e.target_id = p_target AND e.invoke_id = ANY (p_invoke_ids) AND e.seq = 1
    ), states AS (
        SELECT p.invoke_id, p.t, archive.aggregate_status_for(
            (SELECT t.source FROM archive.targets t WHERE t.id = p_target), coalesce((
            SELECT array_agg(i.status) FROM archive.instance_intervals i
            WHERE i.target_id = p_target AND i.invoke_id = p.invoke_id
              AND i.valid_from <= p.t AND (i.valid_to IS NULL OR i.valid_to > p.t)), '{}')) AS status
        FROM points p
    ), changes AS (
        SELECT invoke_id, t, status, lag(status) OVER (PARTITION BY invoke_id ORDER BY t) AS before FROM states
    ), kept AS (
        SELECT invoke_id, t, status FROM changes WHERE before IS DISTINCT FROM status
    )
    SELECT p_target, invoke_id, t, lead(t) OVER (PARTITION BY invoke_id ORDER BY t), status FROM kept;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.invocation_status_known_at(
    p_invoke_id text, p_at timestamptz, p_known_at timestamptz DEFAULT 'infinity')
RETURNS text
LANGUAGE sql STABLE SET jit = off AS $$
    SELECT CASE
        WHEN NOT EXISTS (
            SELECT 1 FROM archive.events e
            WHERE e.invoke_id = p_invoke_id AND e.occurred_at <= p_at AND e.recorded_at <= p_known_at)
        THEN NULL
        ELSE archive.aggregate_status_for(
            (SELECT t.source FROM archive.events e JOIN archive.targets t ON t.id = e.target_id
             WHERE e.invoke_id = p_invoke_id ORDER BY e.target_id LIMIT 1),
            coalesce((SELECT array_agg(s.status) FROM archive.instance_status_known_at(p_invoke_id, p_at, p_known_at) s), '{}'))
    END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.invocation_status_known_at(
    p_invoke_id text, p_at timestamptz, p_known_at timestamptz DEFAULT 'infinity')
RETURNS text
LANGUAGE sql STABLE SET jit = off AS $$
    SELECT CASE
        WHEN NOT EXISTS (
            SELECT 1 FROM archive.events e
            WHERE e.invoke_id = p_invoke_id AND e.occurred_at <= p_at AND e.recorded_at <= p_known_at)
        THEN NULL
        ELSE archive.aggregate_status(coalesce(
            (SELECT array_agg(s.status) FROM archive.instance_status_known_at(p_invoke_id, p_at, p_known_at) s),
            '{}'))
    END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.refresh_send_intervals(p_target bigint, p_invoke_ids text[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM archive.send_intervals WHERE target_id = p_target AND invoke_id = ANY (p_invoke_ids);
    INSERT INTO archive.send_intervals (target_id, invoke_id, valid_from, valid_to, status)
    WITH points AS (
        SELECT i.invoke_id, i.valid_from AS t FROM archive.instance_intervals i
        WHERE i.target_id = p_target AND i.invoke_id = ANY (p_invoke_ids)
        UNION
        SELECT e.invoke_id, e.occurred_at FROM archive.events e
        WHERE e.target_id = p_target AND e.invoke_id = ANY (p_invoke_ids) AND e.seq = 1
    ), states AS (
        SELECT p.invoke_id, p.t, archive.aggregate_status(coalesce((
            SELECT array_agg(i.status) FROM archive.instance_intervals i
            WHERE i.target_id = p_target AND i.invoke_id = p.invoke_id
              AND i.valid_from <= p.t AND (i.valid_to IS NULL OR i.valid_to > p.t)), '{}')) AS status
        FROM points p
    ), changes AS (
        SELECT invoke_id, t, status, lag(status) OVER (PARTITION BY invoke_id ORDER BY t) AS before FROM states
    ), kept AS (
        SELECT invoke_id, t, status FROM changes WHERE before IS DISTINCT FROM status
    )
    SELECT p_target, invoke_id, t, lead(t) OVER (PARTITION BY invoke_id ORDER BY t), status FROM kept;
$$;
-- +goose StatementEnd
ALTER TABLE archive.instances
    DROP COLUMN stop_time, DROP COLUMN repeats, DROP COLUMN exit_code, DROP COLUMN dropped, DROP COLUMN output_sha256;
ALTER TABLE archive.invocations
    DROP COLUMN command_id, DROP COLUMN parameters, DROP COLUMN repeat_mode, DROP COLUMN frequency,
    DROP COLUMN timeout, DROP COLUMN username, DROP COLUMN working_dir;
