-- Send intervals at the speed of an append (issue 10: throughput of
-- storing). refresh_send_intervals, called once per page transaction, was
-- half the time of archiving a backlog (BENCHMARKS.md, the one-year
-- ingest): at every instant of every send it called the source's aggregate
-- rule on a subquery, and a SQL function whose body holds a subquery (the
-- rules' EXISTS over unnest) is never inlined, so each of those calls ran
-- the function executor (about 50 µs; 760,000 calls for a month of the
-- one-year fleet).
--
-- * The rules say the same thing with array operators instead of
--   subqueries (<@ "every status is one of", && "some status is one of",
--   array_position(statuses, NULL) "has a null"), so PostgreSQL inlines them
--   wherever the statuses are a plain value. The property tests that hold
--   them equal to the Go rules (store/aggregate_sql_test.go) are unchanged.
-- * refresh_send_intervals collects each instant's statuses first (once:
--   MATERIALIZED, or the inlined rule would repeat the subquery) and joins
--   the target's source once, so the rule is applied inline. JIT is off:
--   the subqueries' estimated cost crosses jit_above_cost once the archive
--   holds a few weeks, and compiling then took 30 ms of a 45 ms call for a
--   query that runs in 7.
-- Same results, same signatures; analysts' calls of the rules and the
-- status functions get faster too.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.aggregate_status(statuses text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN coalesce(cardinality(statuses), 0) = 0 THEN 'Unknown'
        WHEN array_position(statuses, NULL) IS NOT NULL
          OR NOT (statuses <@ '{Pending,Invalid,Running,Aborted,Success,Failed,Error,Timeout}'::text[])
            THEN 'Unknown'
        WHEN 'Pending' = ANY (statuses) THEN 'Pending'
        WHEN 'Running' = ANY (statuses) THEN 'Running'
        WHEN 'Success' = ALL (statuses) THEN 'Success'
        WHEN NOT ('Success' = ANY (statuses)) THEN 'Failed'
        ELSE 'PartialFailed'
    END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.command_aggregate_status(statuses text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN coalesce(cardinality(statuses), 0) = 0 THEN 'Unknown'
        WHEN array_position(statuses, NULL) IS NOT NULL
          OR NOT (statuses <@ '{Pending,Scheduled,Running,Stopping,Stopped,Success,Failed,Error,Timeout,Cancelled,Terminated,Invalid,Aborted}'::text[])
            THEN 'Unknown'
        WHEN 'Pending' = ANY (statuses) THEN 'Pending'
        WHEN 'Scheduled' = ANY (statuses) THEN 'Scheduled'
        WHEN 'Running' = ANY (statuses) THEN 'Running'
        WHEN 'Stopping' = ANY (statuses) THEN 'Stopping'
        WHEN statuses <@ '{Stopped,Cancelled,Terminated}'::text[] THEN 'Stopped'
        WHEN NOT (statuses && '{Invalid,Aborted,Failed,Timeout,Error}'::text[]) THEN 'Success'
        WHEN NOT ('Success' = ANY (statuses)) THEN 'Failed'
        ELSE 'PartialFailed'
    END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.refresh_send_intervals(p_target bigint, p_invoke_ids text[]) RETURNS void
LANGUAGE sql SET jit = off AS $$
    DELETE FROM archive.send_intervals WHERE target_id = p_target AND invoke_id = ANY (p_invoke_ids);
    INSERT INTO archive.send_intervals (target_id, invoke_id, valid_from, valid_to, status)
    WITH points AS (
        SELECT i.invoke_id, i.valid_from AS t FROM archive.instance_intervals i
        WHERE i.target_id = p_target AND i.invoke_id = ANY (p_invoke_ids)
        UNION
        SELECT e.invoke_id, e.occurred_at FROM archive.events e
        WHERE e.target_id = p_target AND e.invoke_id = ANY (p_invoke_ids) AND e.seq = 1
    ), covering AS MATERIALIZED (
        SELECT p.invoke_id, p.t, coalesce((
            SELECT array_agg(i.status) FROM archive.instance_intervals i
            WHERE i.target_id = p_target AND i.invoke_id = p.invoke_id
              AND i.valid_from <= p.t AND (i.valid_to IS NULL OR i.valid_to > p.t)), '{}') AS statuses
        FROM points p
    ), states AS (
        SELECT c.invoke_id, c.t, archive.aggregate_status_for(t.source, c.statuses) AS status
        FROM covering c JOIN archive.targets t ON t.id = p_target
    ), changes AS (
        SELECT invoke_id, t, status, lag(status) OVER (PARTITION BY invoke_id ORDER BY t) AS before FROM states
    ), kept AS (
        SELECT invoke_id, t, status FROM changes WHERE before IS DISTINCT FROM status
    )
    SELECT p_target, invoke_id, t, lead(t) OVER (PARTITION BY invoke_id ORDER BY t), status FROM kept;
$$;
-- +goose StatementEnd

-- +goose Down
-- The definitions of migrations 1, 11 and 16.
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
CREATE OR REPLACE FUNCTION archive.command_aggregate_status(statuses text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN coalesce(cardinality(statuses), 0) = 0 THEN 'Unknown'
        WHEN EXISTS (SELECT 1 FROM unnest(statuses) s
                     WHERE s IS NULL OR s NOT IN ('Pending', 'Scheduled', 'Running', 'Stopping', 'Stopped', 'Success',
                         'Failed', 'Error', 'Timeout', 'Cancelled', 'Terminated', 'Invalid', 'Aborted'))
            THEN 'Unknown'
        WHEN 'Pending' = ANY (statuses) THEN 'Pending'
        WHEN 'Scheduled' = ANY (statuses) THEN 'Scheduled'
        WHEN 'Running' = ANY (statuses) THEN 'Running'
        WHEN 'Stopping' = ANY (statuses) THEN 'Stopping'
        WHEN NOT EXISTS (SELECT 1 FROM unnest(statuses) s WHERE s NOT IN ('Stopped', 'Cancelled', 'Terminated'))
            THEN 'Stopped'
        WHEN NOT EXISTS (SELECT 1 FROM unnest(statuses) s WHERE s IN ('Invalid', 'Aborted', 'Failed', 'Timeout', 'Error'))
            THEN 'Success'
        WHEN NOT ('Success' = ANY (statuses)) THEN 'Failed'
        ELSE 'PartialFailed'
    END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.aggregate_status(statuses text[]) RETURNS text
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
