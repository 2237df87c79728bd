-- The point-in-time functions in PL/pgSQL, without JIT. As SQL functions
-- they were planned on every call, and the planner, costing the "as known
-- at" branch by the table's size, JIT-compiled it each time: 3 to 80 ms for
-- a lookup that runs in a tenth of a millisecond. PL/pgSQL keeps each
-- statement's plan for the session, and jit = off keeps compilation out of
-- lookups that touch a handful of rows (BENCHMARKS.md: p99 under 1 ms).

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.invocation_status_at(
    p_invoke_id text, p_at timestamptz, p_known_at timestamptz DEFAULT 'infinity')
RETURNS text
LANGUAGE plpgsql STABLE SET jit = off AS $$
BEGIN
    IF p_known_at = 'infinity' THEN
        RETURN (SELECT s.status FROM archive.send_intervals s
                WHERE s.invoke_id = p_invoke_id AND s.valid_from <= p_at AND (s.valid_to IS NULL OR s.valid_to > p_at)
                ORDER BY s.target_id LIMIT 1);
    END IF;
    RETURN archive.invocation_status_known_at(p_invoke_id, p_at, p_known_at);
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.instance_status_at(
    p_invoke_id text, p_at timestamptz, p_known_at timestamptz DEFAULT 'infinity')
RETURNS TABLE (target_id bigint, instance_id text, status text, since timestamptz, error_code text, error_info text)
LANGUAGE plpgsql STABLE SET jit = off AS $$
BEGIN
    IF p_known_at = 'infinity' THEN
        RETURN QUERY SELECT i.target_id, i.instance_id, i.status, i.status_since, i.error_code, i.error_info
            FROM archive.instance_intervals i
            WHERE i.invoke_id = p_invoke_id AND i.valid_from <= p_at AND (i.valid_to IS NULL OR i.valid_to > p_at)
            ORDER BY 1, 2;
        RETURN;
    END IF;
    RETURN QUERY SELECT k.* FROM archive.instance_status_known_at(p_invoke_id, p_at, p_known_at) k ORDER BY 1, 2;
END;
$$;
-- +goose StatementEnd

ALTER FUNCTION archive.instance_status_known_at(text, timestamptz, timestamptz) SET jit = off;
ALTER FUNCTION archive.invocation_status_known_at(text, timestamptz, timestamptz) SET jit = off;

-- +goose Down
ALTER FUNCTION archive.instance_status_known_at(text, timestamptz, timestamptz) RESET jit;
ALTER FUNCTION archive.invocation_status_known_at(text, timestamptz, timestamptz) RESET jit;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.instance_status_at(
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
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.invocation_status_at(
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
