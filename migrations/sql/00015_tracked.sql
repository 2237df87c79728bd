-- Tracked tasks (DESIGN.md §11): EFLO's send-file and command APIs cannot be
-- listed (InvokeId is required), so the archive polls the tasks it is told
-- about. Automation that starts an EFLO task registers it here, as the
-- writer role, with archive.track(account, region, source, invoke_id) (or by
-- inserting a row for an existing target); `archiver track` calls the same
-- function. Every cycle polls each task that is not finished; once its
-- overall status is final one more poll confirms it, and polling stops.

-- +goose Up
CREATE TABLE archive.tracked (
    target_id      bigint      NOT NULL REFERENCES archive.targets (id) ON DELETE CASCADE,
    invoke_id      text        NOT NULL CHECK (invoke_id <> '' AND invoke_id = btrim(invoke_id, E' \t\r\n\x0B\f')),
    registered_at  timestamptz NOT NULL DEFAULT now(),
    state          text        NOT NULL DEFAULT 'polling'
                   CHECK (state IN ('polling', 'confirming', 'done', 'not_found', 'expired')),
    polls          integer     NOT NULL DEFAULT 0 CHECK (polls >= 0),
    misses         integer     NOT NULL DEFAULT 0 CHECK (misses >= 0),
    found_at       timestamptz,
    last_polled_at timestamptz,
    last_status    text,
    finished_at    timestamptz,
    PRIMARY KEY (target_id, invoke_id)
);
-- What a cycle reads: the target's tasks still to poll.
CREATE INDEX tracked_to_poll ON archive.tracked (target_id) WHERE state IN ('polling', 'confirming');

COMMENT ON TABLE archive.tracked IS
    'Tasks of sources that cannot be listed (eflo.DescribeSendFileResults, eflo.DescribeInvocations), polled by InvokeId every cycle until finished. Register one with SELECT * FROM archive.track(account, region, source, invoke_id) (archive_writer may), or `archiver track`.';
COMMENT ON COLUMN archive.tracked.target_id IS 'The target (account, region, tracked source) the task belongs to (archive.targets.id).';
COMMENT ON COLUMN archive.tracked.invoke_id IS 'The task''s InvokeId, as the cloud names it.';
COMMENT ON COLUMN archive.tracked.registered_at IS 'When the task was registered.';
COMMENT ON COLUMN archive.tracked.state IS
    'polling: polled every cycle; confirming: the last poll saw a final status, the next one confirms it; done: confirmed, no longer polled; not_found: the source never knew the id (after a bounded number of polls), no longer polled; expired: the source stopped serving it after it had been seen, recorded as expired, no longer polled.';
COMMENT ON COLUMN archive.tracked.polls IS 'Polls the source answered (failed calls are not counted).';
COMMENT ON COLUMN archive.tracked.misses IS 'Consecutive answers without the task, before it was first found.';
COMMENT ON COLUMN archive.tracked.found_at IS 'When a poll first found the task (the source''s clock); NULL while never found.';
COMMENT ON COLUMN archive.tracked.last_polled_at IS 'When the last answered poll was served (the source''s clock).';
COMMENT ON COLUMN archive.tracked.last_status IS 'The overall status (InvocationStatus) the source reported at the last poll that found the task.';
COMMENT ON COLUMN archive.tracked.finished_at IS 'When polling stopped (done, not_found or expired); NULL while polled.';

-- +goose StatementBegin
-- A row inserted directly must name a target of a tracked source: a task
-- registered under an ECS target would never be polled, silently.
CREATE FUNCTION archive.tracked_check_source() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    src text;
BEGIN
    SELECT t.source INTO src FROM archive.targets t WHERE t.id = NEW.target_id;
    IF src IS NOT NULL AND src NOT IN ('eflo.DescribeSendFileResults', 'eflo.DescribeInvocations') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('target %s archives %s, which is listed, not tracked', NEW.target_id, src);
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER tracked_check_source BEFORE INSERT OR UPDATE OF target_id ON archive.tracked
    FOR EACH ROW EXECUTE FUNCTION archive.tracked_check_source();

-- +goose StatementBegin
-- archive.track registers a task by what automation knows (account, region,
-- source, id), creating the target when needed, and says whether it was new.
-- An empty account picks the one target of that region and source, or, when
-- there is none yet, the unnamed target that the first account archiving
-- that region and source adopts (as ingest does with pre-account archives);
-- several accounts with that region and source need the account named. A
-- named account adopts the unnamed target in the same way. The tracked
-- sources mirror model.IsTracked.
CREATE FUNCTION archive.track(p_account text, p_region text, p_source text, p_invoke_id text)
RETURNS TABLE (target_id bigint, account text, created boolean, state text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_id text := btrim(coalesce(p_invoke_id, ''), E' \t\r\n\x0B\f');
    v_acct text := btrim(coalesce(p_account, ''), E' \t\r\n\x0B\f');
    v_tid bigint;
    v_n int;
BEGIN
    IF p_source IS NULL OR p_source NOT IN ('eflo.DescribeSendFileResults', 'eflo.DescribeInvocations') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('source %s is not tracked (tracked: eflo.DescribeSendFileResults, eflo.DescribeInvocations)', coalesce(p_source, 'NULL'));
    END IF;
    IF v_id = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'the invoke id is empty';
    END IF;
    IF btrim(coalesce(p_region, ''), E' \t\r\n\x0B\f') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'the region is empty';
    END IF;
    IF v_acct = '' THEN
        SELECT count(*), min(t.id) INTO v_n, v_tid FROM archive.targets t WHERE t.region = p_region AND t.source = p_source;
        IF v_n > 1 THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('%s accounts archive %s in %s: name the account', v_n, p_source, p_region);
        END IF;
    ELSE
        UPDATE archive.targets t SET account = v_acct
        WHERE t.account = '' AND t.region = p_region AND t.source = p_source
          AND NOT EXISTS (SELECT 1 FROM archive.targets x WHERE x.account = v_acct AND x.region = p_region AND x.source = p_source);
    END IF;
    IF v_tid IS NULL THEN
        INSERT INTO archive.targets AS t (account, region, source) VALUES (v_acct, p_region, p_source)
        ON CONFLICT (account, region, source) DO NOTHING;
        SELECT t.id INTO v_tid FROM archive.targets t WHERE t.account = v_acct AND t.region = p_region AND t.source = p_source;
    END IF;
    INSERT INTO archive.tracked AS k (target_id, invoke_id) VALUES (v_tid, v_id) ON CONFLICT DO NOTHING;
    created := FOUND;
    RETURN QUERY SELECT k.target_id, t.account, created, k.state
        FROM archive.tracked k JOIN archive.targets t ON t.id = k.target_id
        WHERE k.target_id = v_tid AND k.invoke_id = v_id;
END;
$$;
-- +goose StatementEnd
COMMENT ON FUNCTION archive.track(text, text, text, text) IS
    'Registers a task of a tracked source for polling: archive.track(account, region, source, invoke_id) returns its target, the target''s account, whether the task is new (false: it was tracked already, nothing changed) and its state. An empty account picks the only target of that region and source, else the unnamed one the first account to archive them adopts.';

-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_writer')
       OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_reader') THEN
        RAISE NOTICE 'archive: roles archive_writer and archive_reader do not exist; skipping the grants on archive.tracked';
        RETURN;
    END IF;
    -- Automation registers tasks (INSERT), the archiver records its polls
    -- (UPDATE); neither ever needs to delete one.
    GRANT SELECT, INSERT, UPDATE ON archive.tracked TO archive_writer;
    GRANT SELECT ON archive.tracked TO archive_reader;
    GRANT EXECUTE ON FUNCTION archive.track(text, text, text, text) TO archive_writer;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION archive.track(text, text, text, text);
DROP TABLE archive.tracked;
DROP FUNCTION archive.tracked_check_source();
