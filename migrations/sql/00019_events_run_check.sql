-- Events name their ingest run without a foreign key, as they name their
-- target since migration 18 (issue 10: throughput of storing). The
-- constraint cost PostgreSQL one lookup and one row lock on
-- archive.ingest_runs for every event appended: 9% of a first ingest's
-- throughput (BENCHMARKS.md). What it guaranteed is kept another way:
--
-- * Every append goes through a page transaction of the run that is
--   writing, whose row exists (the page records its progress on it in the
--   same transaction, and fails if it does not).
-- * A run cannot be deleted while its target has events (its own events
--   are among them; the trigger below reads one row of the primary key
--   (target_id, chain_position)), nor its id changed, nor the table
--   truncated while any event exists. `archiver targets remove` deletes
--   the runs of a target only when it has no events.
-- * `archiver verify` reports any event whose run_id names no run.
--
-- Also: archive.invocations had the same index on creation_time twice
-- (migrations 1 and 10); every send paid for both.

-- +goose Up
ALTER TABLE archive.events DROP CONSTRAINT events_run_id_fkey;
DROP INDEX archive.invocations_creation_time;

-- +goose StatementBegin
CREATE FUNCTION archive.keep_runs_of_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (SELECT 1 FROM archive.events) THEN
            RAISE EXCEPTION 'archive.ingest_runs: TRUNCATE refused, archived events name these runs'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.target_id = OLD.target_id THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM archive.events WHERE target_id = OLD.target_id) THEN
        RAISE EXCEPTION 'archive.ingest_runs: % of run % refused, its target has archived events', TG_OP, OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RETURN NEW;
    END IF;
    RETURN OLD;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER ingest_runs_keep_events BEFORE DELETE OR UPDATE OF id, target_id ON archive.ingest_runs
    FOR EACH ROW EXECUTE FUNCTION archive.keep_runs_of_events();
CREATE TRIGGER ingest_runs_no_truncate_with_events BEFORE TRUNCATE ON archive.ingest_runs
    FOR EACH STATEMENT EXECUTE FUNCTION archive.keep_runs_of_events();

COMMENT ON COLUMN archive.events.run_id IS
    'The ingest run (archive.ingest_runs.id) that recorded the event. Not a foreign key (a lookup per appended event): runs of a target with events refuse DELETE and a change of id or target, and archiver verify reports any event of no run.';

-- +goose Down
DROP TRIGGER ingest_runs_no_truncate_with_events ON archive.ingest_runs;
DROP TRIGGER ingest_runs_keep_events ON archive.ingest_runs;
DROP FUNCTION archive.keep_runs_of_events();
CREATE INDEX invocations_creation_time ON archive.invocations (creation_time);
-- Fails, naming one, if any event names no run: verify reports them.
ALTER TABLE archive.events ADD CONSTRAINT events_run_id_fkey
    FOREIGN KEY (run_id) REFERENCES archive.ingest_runs (id);
COMMENT ON COLUMN archive.events.run_id IS NULL;
