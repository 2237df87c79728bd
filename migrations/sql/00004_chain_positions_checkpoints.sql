-- Chain positions, checkpoints, and file contents behind their own role.
--
-- chain_position is each event's 1-based position in its target's hash chain
-- (the order of prev_hash links). It is not hashed: it names where an event
-- sits, so exports can say it and `verify --checkpoint` can find the event a
-- checkpoint vouches for without scanning the chain. Events written before
-- this migration get their positions here, once, in chain order (id order):
-- the only change this migration makes to existing events, done by the
-- owner with the append-only trigger suspended inside this transaction.
-- The unique index also makes two appends at one position impossible.

-- +goose Up
ALTER TABLE archive.events ADD COLUMN chain_position bigint;
ALTER TABLE archive.events DISABLE TRIGGER events_append_only;
UPDATE archive.events e SET chain_position = p.pos
FROM (SELECT id, row_number() OVER (PARTITION BY target_id ORDER BY id) AS pos FROM archive.events) p
WHERE e.id = p.id;
ALTER TABLE archive.events ENABLE TRIGGER events_append_only;
ALTER TABLE archive.events ALTER COLUMN chain_position SET NOT NULL;
CREATE UNIQUE INDEX events_chain_position ON archive.events (target_id, chain_position);
-- The chain order index is now (target_id, chain_position).
DROP INDEX archive.events_target_order;
COMMENT ON COLUMN archive.events.chain_position IS
    '1-based position of the event in its target''s hash chain (not hashed; the chain order of prev_hash links).';

-- Checkpoints: signed chain heads handed to auditors (DESIGN.md §10.4). The
-- archive keeps a copy of each; the auditor's copy is the one that counts.
CREATE TABLE archive.checkpoints (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL,
    document   text        NOT NULL,
    signature  bytea
);
COMMENT ON TABLE archive.checkpoints IS
    'Checkpoints written by `archiver checkpoint` or the daemon: the exact JSON document and its Ed25519 signature, if signed.';
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON archive.checkpoints
    FOR EACH ROW EXECUTE FUNCTION archive.refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON archive.checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION archive.refuse_change();

-- File contents can hold secrets (pushed configuration files often do): the
-- reader role no longer sees them; archive_content_reader does.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_reader')
       OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_writer') THEN
        RAISE NOTICE 'archive: roles archive_reader and archive_writer do not exist; skipping grants';
        RETURN;
    END IF;
    GRANT INSERT ON archive.checkpoints TO archive_writer;
    REVOKE SELECT ON archive.contents FROM archive_reader;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_content_reader') THEN
        IF NOT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
            RAISE NOTICE 'archive: % may not create roles; archive_content_reader not set up', current_user;
            RETURN;
        END IF;
        CREATE ROLE archive_content_reader NOLOGIN;
    END IF;
    GRANT USAGE ON SCHEMA archive TO archive_content_reader;
    GRANT SELECT ON archive.contents TO archive_content_reader;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_content_reader') THEN
        REVOKE ALL ON archive.contents FROM archive_content_reader;
        REVOKE ALL ON SCHEMA archive FROM archive_content_reader;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_reader') THEN
        GRANT SELECT ON archive.contents TO archive_reader;
    END IF;
END;
$$;
-- +goose StatementEnd
DROP TABLE archive.checkpoints;
CREATE INDEX events_target_order ON archive.events (target_id, id);
DROP INDEX archive.events_chain_position;
ALTER TABLE archive.events DROP COLUMN chain_position;
