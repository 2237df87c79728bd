-- The aggregate rule of command sources (ECS and EFLO DescribeInvocations),
-- mirroring model.CommandAggregate (a property test keeps them equal), and
-- one entry point that picks a source's rule, mirroring model.RulesFor.
-- Stopped = {Cancelled, Terminated, Stopped}; Failed = {Invalid, Aborted,
-- Failed, Timeout, Error}.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION archive.command_aggregate_status(statuses text[]) RETURNS text
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
COMMENT ON FUNCTION archive.command_aggregate_status(text[]) IS
    'The documented aggregate rule of command sources (DescribeInvocations) over per-instance statuses: Pending, Scheduled, Running, Stopping if any instance is; then Stopped (all Cancelled/Terminated/Stopped), Success (no failure), Failed (no success), else PartialFailed; Unknown for no instances or an undocumented status.';

-- +goose StatementBegin
CREATE FUNCTION archive.aggregate_status_for(source text, statuses text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN source IN ('ecs.DescribeSendFileResults', 'eflo.DescribeSendFileResults') THEN archive.aggregate_status(statuses)
        WHEN source IN ('ecs.DescribeInvocations', 'eflo.DescribeInvocations') THEN archive.command_aggregate_status(statuses)
    END
$$;
-- +goose StatementEnd
COMMENT ON FUNCTION archive.aggregate_status_for(text, text[]) IS
    'A source''s documented aggregate rule (archive.targets.source) over per-instance statuses; NULL for a source the archive does not know.';

-- +goose Down
DROP FUNCTION archive.aggregate_status_for(text, text[]);
DROP FUNCTION archive.command_aggregate_status(text[]);
