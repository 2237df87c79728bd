-- Status intervals: the point-in-time rule stored as validity intervals, per
-- instance and per send, so "status at T" for a whole fleet is a range
-- lookup instead of a fold of the events per send. They are projections:
-- maintained in the same page transaction as the events they come from and
-- rebuilt from the log by `archiver rebuild` (its fold produces them).

-- +goose Up
CREATE TABLE archive.instance_intervals (
    target_id    bigint      NOT NULL,
    invoke_id    text        NOT NULL,
    instance_id  text        NOT NULL,
    valid_from   timestamptz NOT NULL,
    valid_to     timestamptz,
    status       text        NOT NULL,
    status_since timestamptz NOT NULL,
    error_code   text        NOT NULL,
    error_info   text        NOT NULL,
    PRIMARY KEY (invoke_id, target_id, instance_id, valid_from)
);
COMMENT ON TABLE archive.instance_intervals IS
    'Each instance''s state over valid time: one row per interval [valid_from, valid_to) in which its status and error details did not change; valid_to is NULL while the interval is current. Derived from archive.events.';
COMMENT ON COLUMN archive.instance_intervals.target_id IS 'The target (account, region, source) the send belongs to: archive.targets.id.';
COMMENT ON COLUMN archive.instance_intervals.invoke_id IS 'The send''s InvokeId.';
COMMENT ON COLUMN archive.instance_intervals.instance_id IS 'The instance (or node) id.';
COMMENT ON COLUMN archive.instance_intervals.valid_from IS 'Start of the interval (inclusive), in valid time.';
COMMENT ON COLUMN archive.instance_intervals.valid_to IS 'End of the interval (exclusive); NULL while current.';
COMMENT ON COLUMN archive.instance_intervals.status IS 'The instance''s status throughout the interval, as the source reported it.';
COMMENT ON COLUMN archive.instance_intervals.status_since IS 'Valid time of the status event that set the status (the interval may start later, when error details changed).';
COMMENT ON COLUMN archive.instance_intervals.error_code IS 'Error code shown in the interval: empty while Pending or Running.';
COMMENT ON COLUMN archive.instance_intervals.error_info IS 'Error message shown in the interval: empty while Pending or Running.';

CREATE TABLE archive.send_intervals (
    target_id  bigint      NOT NULL,
    invoke_id  text        NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz,
    status     text        NOT NULL,
    PRIMARY KEY (invoke_id, target_id, valid_from)
);
COMMENT ON TABLE archive.send_intervals IS
    'Each send''s derived aggregate status over valid time (the documented rule over the instances that existed): one row per interval [valid_from, valid_to); valid_to is NULL while current. Before its first interval the send did not exist yet. Derived from archive.instance_intervals.';
COMMENT ON COLUMN archive.send_intervals.target_id IS 'The target (account, region, source): archive.targets.id.';
COMMENT ON COLUMN archive.send_intervals.invoke_id IS 'The send''s InvokeId.';
COMMENT ON COLUMN archive.send_intervals.valid_from IS 'Start of the interval (inclusive), in valid time.';
COMMENT ON COLUMN archive.send_intervals.valid_to IS 'End of the interval (exclusive); NULL while current.';
COMMENT ON COLUMN archive.send_intervals.status IS 'The derived aggregate status throughout the interval (Pending, Running, Success, Failed, PartialFailed, Unknown).';

-- refresh_send_intervals recomputes the send intervals of some sends from
-- their instance intervals: at every instant an instance interval starts,
-- the aggregate rule over the instance intervals that cover it, merged where
-- it does not change. A send exists from its first event (seq 1).
-- +goose StatementBegin
CREATE FUNCTION archive.refresh_send_intervals(p_target bigint, p_invoke_ids text[]) RETURNS void
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
COMMENT ON FUNCTION archive.refresh_send_intervals(bigint, text[]) IS
    'Recomputes archive.send_intervals of the given sends from archive.instance_intervals (the archiver calls it; analysts need not).';

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_writer') THEN
        GRANT INSERT, UPDATE, DELETE ON archive.instance_intervals, archive.send_intervals TO archive_writer;
    END IF;
END;
$$;
-- +goose StatementEnd

-- The point-in-time functions answer from the intervals; "as known at" a
-- finite time still folds the events (intervals hold only what is known
-- now). The event-based bodies keep their names with _known_at.
ALTER FUNCTION archive.instance_status_at(text, timestamptz, timestamptz) RENAME TO instance_status_known_at;
ALTER FUNCTION archive.invocation_status_at(text, timestamptz, timestamptz) RENAME TO invocation_status_known_at;
COMMENT ON FUNCTION archive.instance_status_known_at(text, timestamptz, timestamptz) IS
    'Status of each instance of a send at valid time p_at, as the archive knew it at transaction time p_known_at, folded from the events.';
COMMENT ON FUNCTION archive.invocation_status_known_at(text, timestamptz, timestamptz) IS
    'Aggregate status of a send at valid time p_at as the archive knew it at p_known_at, folded from the events; NULL when it had nothing on it by then.';

-- +goose StatementBegin
CREATE FUNCTION archive.instance_status_at(
    p_invoke_id text, p_at timestamptz, p_known_at timestamptz DEFAULT 'infinity')
RETURNS TABLE (target_id bigint, instance_id text, status text, since timestamptz, error_code text, error_info text)
LANGUAGE sql STABLE AS $$
    SELECT i.target_id, i.instance_id, i.status, i.status_since, i.error_code, i.error_info
    FROM archive.instance_intervals i
    WHERE p_known_at = 'infinity' AND i.invoke_id = p_invoke_id
      AND i.valid_from <= p_at AND (i.valid_to IS NULL OR i.valid_to > p_at)
    UNION ALL
    SELECT k.* FROM archive.instance_status_known_at(p_invoke_id, p_at, p_known_at) k
    WHERE p_known_at <> 'infinity'
    ORDER BY 1, 2
$$;
-- +goose StatementEnd
COMMENT ON FUNCTION archive.instance_status_at(text, timestamptz, timestamptz) IS
    'Status of each instance of a send at valid time p_at (since: when that status began; error details only for outcomes), as the archive knew it at p_known_at (default: everything recorded, answered from archive.instance_intervals).';

-- +goose StatementBegin
CREATE FUNCTION archive.invocation_status_at(
    p_invoke_id text, p_at timestamptz, p_known_at timestamptz DEFAULT 'infinity')
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_known_at = 'infinity' THEN (
        SELECT s.status FROM archive.send_intervals s
        WHERE s.invoke_id = p_invoke_id AND s.valid_from <= p_at AND (s.valid_to IS NULL OR s.valid_to > p_at)
        ORDER BY s.target_id LIMIT 1)
    ELSE archive.invocation_status_known_at(p_invoke_id, p_at, p_known_at) END
$$;
-- +goose StatementEnd
COMMENT ON FUNCTION archive.invocation_status_at(text, timestamptz, timestamptz) IS
    'Derived aggregate status of a send at valid time p_at as known at p_known_at (default: everything recorded, answered from archive.send_intervals); NULL when the send did not exist yet.';

-- +goose Down
DROP FUNCTION archive.invocation_status_at(text, timestamptz, timestamptz);
DROP FUNCTION archive.instance_status_at(text, timestamptz, timestamptz);
ALTER FUNCTION archive.invocation_status_known_at(text, timestamptz, timestamptz) RENAME TO invocation_status_at;
ALTER FUNCTION archive.instance_status_known_at(text, timestamptz, timestamptz) RENAME TO instance_status_at;
DROP FUNCTION archive.refresh_send_intervals(bigint, text[]);
DROP TABLE archive.send_intervals;
DROP TABLE archive.instance_intervals;
