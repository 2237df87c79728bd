-- Events name their target without a foreign key (issue 10: throughput of
-- storing). The constraint cost PostgreSQL one lookup and one row lock on
-- archive.targets for every event appended, the largest difference between
-- an append and a bare COPY of the same rows (BENCHMARKS.md). What it
-- guaranteed is kept another way:
--
-- * Every append goes through a page transaction that has locked its
--   target's row FOR UPDATE and updates its chain head: an append to a
--   target that does not exist fails there, and a target cannot be deleted
--   while a page is being appended to it.
-- * A target that has events can no longer be deleted, nor its id changed
--   (the triggers below, which read the primary key (target_id,
--   chain_position) for one row), nor the table truncated while any event
--   exists. `archiver targets remove` says so first; this is the backstop.
-- * `archiver verify` reports any event whose target_id names no target
--   (one only a superuser with triggers disabled, or a writer inserting
--   outside a page transaction racing a removal, could make).

-- +goose Up
ALTER TABLE archive.events DROP CONSTRAINT events_target_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION archive.keep_targets_of_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (SELECT 1 FROM archive.events) THEN
            RAISE EXCEPTION 'archive.targets: TRUNCATE refused, archived events name these targets'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM archive.events WHERE target_id = OLD.id) THEN
        RAISE EXCEPTION 'archive.targets: % of target % refused, it has archived events (retire it instead)', TG_OP, OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RETURN NEW;
    END IF;
    RETURN OLD;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER targets_keep_events BEFORE DELETE OR UPDATE OF id ON archive.targets
    FOR EACH ROW EXECUTE FUNCTION archive.keep_targets_of_events();
CREATE TRIGGER targets_no_truncate_with_events BEFORE TRUNCATE ON archive.targets
    FOR EACH STATEMENT EXECUTE FUNCTION archive.keep_targets_of_events();

COMMENT ON COLUMN archive.events.target_id IS
    'The target (archive.targets.id) whose chain the event is on. Not a foreign key (a lookup per appended event): targets with events refuse DELETE and a change of id, and archiver verify reports any event of no target.';

-- +goose Down
DROP TRIGGER targets_no_truncate_with_events ON archive.targets;
DROP TRIGGER targets_keep_events ON archive.targets;
DROP FUNCTION archive.keep_targets_of_events();
-- Fails, naming one, if any event names no target: verify reports them.
ALTER TABLE archive.events ADD CONSTRAINT events_target_id_fkey
    FOREIGN KEY (target_id) REFERENCES archive.targets (id);
COMMENT ON COLUMN archive.events.target_id IS NULL;
