-- An event's detail holds only what its payload (the verbatim source fields)
-- does not say, so the log stores nothing twice: instance_discovered and
-- instance_details_changed carry no detail (times and error are read from
-- the payload), invocation_discovered and invocation_attributes_changed carry
-- only {"content_sha256"} (the body is not in the payload), tags changes
-- none. Events recorded earlier keep their full detail; a present detail
-- always wins. The "as known at" function therefore reads an instance's error
-- from the detail when there is one, else from the payload, normalised as the
-- archiver normalises it (surrounding whitespace trimmed).

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION archive.source_text(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- The whitespace Go's strings.TrimSpace removes (Unicode White_Space).
    SELECT CASE WHEN v IS NULL OR jsonb_typeof(v) = 'null' THEN ''
        ELSE btrim(CASE WHEN jsonb_typeof(v) = 'string' THEN v #>> '{}' ELSE v::text END,
                   E' \t\n\v\f\r\u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000')
    END
$$;
-- +goose StatementEnd
COMMENT ON FUNCTION archive.source_text(jsonb) IS
    'A verbatim source value (from an event''s payload) as the archiver normalises text: as a string, surrounding whitespace trimmed, '''' for null or missing.';

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.instance_status_known_at(
    p_invoke_id text, p_at timestamptz, p_known_at timestamptz DEFAULT 'infinity')
RETURNS TABLE (target_id bigint, instance_id text, status text, since timestamptz, error_code text, error_info text)
LANGUAGE sql STABLE SET jit = off AS $$
    SELECT s.target_id, s.instance_id, s.to_status, s.occurred_at,
           CASE WHEN s.to_status IN ('Pending', 'Running') THEN ''
                ELSE coalesce(d.detail ->> 'error_code', archive.source_text(d.payload -> 'ErrorCode'), '') END,
           CASE WHEN s.to_status IN ('Pending', 'Running') THEN ''
                ELSE coalesce(d.detail ->> 'error_info', archive.source_text(d.payload -> 'ErrorInfo'), '') END
    FROM (
        SELECT DISTINCT ON (e.target_id, e.instance_id) e.target_id, e.instance_id, e.to_status, e.occurred_at
        FROM archive.events e
        WHERE e.invoke_id = p_invoke_id AND e.type = 'instance_status_changed'
          AND e.occurred_at <= p_at AND e.recorded_at <= p_known_at
        ORDER BY e.target_id, e.instance_id, e.occurred_at DESC, e.seq DESC
    ) s
    LEFT JOIN LATERAL (
        SELECT e.detail, e.payload FROM archive.events e
        WHERE e.target_id = s.target_id AND e.invoke_id = p_invoke_id AND e.instance_id = s.instance_id
          AND e.type IN ('instance_discovered', 'instance_details_changed')
          AND e.occurred_at <= p_at AND e.recorded_at <= p_known_at
        ORDER BY e.occurred_at DESC, e.seq DESC LIMIT 1
    ) d ON true
    ORDER BY s.target_id, s.instance_id
$$;
-- +goose StatementEnd

COMMENT ON COLUMN archive.events.type IS
    'What the event records: invocation_discovered (the send''s attributes and tags, read from payload), invocation_attributes_changed, invocation_tags_changed, invocation_reported_status_changed (the cloud''s aggregate), invocation_source_expired (the cloud stopped listing it), instance_discovered (an instance''s times and error, read from payload), instance_status_changed (from_status -> to_status), instance_details_changed (times or error changed).';
COMMENT ON COLUMN archive.events.detail IS
    'What the payload does not say, so nothing is stored twice: {"content_sha256"} for invocation_discovered/attributes_changed (the file body is stored once in archive.contents), {"inferred": true, "observed_status"} for a lifecycle step the source never showed (reconstructed from a later observation, whose status the payload carries); NULL otherwise (normalised values are read from payload: archive.source_text trims them). Events recorded before migration 9 carry the full normalised values here instead ({"attributes", "tags"}; {"creation_time", "start_time", "finish_time", "error_code", "error_info"}).';

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION archive.instance_status_known_at(
    p_invoke_id text, p_at timestamptz, p_known_at timestamptz DEFAULT 'infinity')
RETURNS TABLE (target_id bigint, instance_id text, status text, since timestamptz, error_code text, error_info text)
LANGUAGE sql STABLE SET jit = off AS $$
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
DROP FUNCTION archive.source_text(jsonb);
COMMENT ON COLUMN archive.events.type IS
    'What the event records: invocation_discovered (the send''s attributes and tags in detail), invocation_attributes_changed, invocation_tags_changed, invocation_reported_status_changed (the cloud''s aggregate), invocation_source_expired (the cloud stopped listing it), instance_discovered (an instance''s times and error in detail), instance_status_changed (from_status -> to_status), instance_details_changed (times or error changed).';
COMMENT ON COLUMN archive.events.detail IS
    'Normalised values the projections fold: {"attributes", "tags"} for invocation events, {"creation_time", "start_time", "finish_time", "error_code", "error_info"} for instance_discovered/details_changed, {"inferred": true, "observed_status"} for a lifecycle step the source never showed (reconstructed from a later observation, whose status the payload carries); NULL otherwise.';
