-- Roles for least privilege, and two run details: an 'interrupted' outcome
-- (shutdown mid-cycle is not a failure of the source) and a count of
-- oversized records.
--
-- archive_writer: what `archiver ingest` and `archiver run` need. It may
-- INSERT events but never UPDATE, DELETE or TRUNCATE them, so the log is
-- append-only by grants as well as by trigger.
-- archive_reader: read-only, for analysts and auditors.
-- Both are NOLOGIN group roles: grant them to login roles. Roles are
-- cluster-wide, so they are created once and never dropped by a migration.
-- Where the migrating user may not create roles, the grants are skipped with
-- a NOTICE and the operator can run this part later as a privileged user.

-- +goose Up
ALTER TABLE archive.ingest_runs DROP CONSTRAINT ingest_runs_outcome_check;
ALTER TABLE archive.ingest_runs ADD CONSTRAINT ingest_runs_outcome_check
    CHECK (outcome IN ('running', 'ok', 'failed', 'interrupted'));
ALTER TABLE archive.ingest_runs ADD COLUMN oversized integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN archive.ingest_runs.oversized IS
    'Records listed in the run that were unusually large (Content over 256 KiB or over 1,000 instances).';

-- +goose StatementBegin
DO $$
DECLARE
    may_create boolean;
BEGIN
    SELECT rolsuper OR rolcreaterole INTO may_create FROM pg_roles WHERE rolname = current_user;
    IF NOT may_create THEN
        RAISE NOTICE 'archive: % may not create roles; skipping archive_writer and archive_reader (run migrations as a role with CREATEROLE to set them up)', current_user;
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_writer') THEN
        CREATE ROLE archive_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_reader') THEN
        CREATE ROLE archive_reader NOLOGIN;
    END IF;
    GRANT USAGE ON SCHEMA archive TO archive_writer, archive_reader;
    GRANT SELECT ON ALL TABLES IN SCHEMA archive TO archive_reader;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA archive TO archive_reader, archive_writer;
    GRANT SELECT, INSERT ON archive.events TO archive_writer;
    GRANT SELECT, INSERT, UPDATE ON archive.targets, archive.ingest_runs TO archive_writer;
    GRANT SELECT, INSERT, UPDATE, DELETE ON archive.invocations, archive.instances TO archive_writer;
    GRANT SELECT, INSERT ON archive.contents TO archive_writer;
    GRANT SELECT ON archive.sends TO archive_writer;
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA archive TO archive_writer;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_writer') THEN
        REVOKE ALL ON ALL TABLES IN SCHEMA archive FROM archive_writer;
        REVOKE ALL ON ALL SEQUENCES IN SCHEMA archive FROM archive_writer;
        REVOKE ALL ON ALL FUNCTIONS IN SCHEMA archive FROM archive_writer;
        REVOKE ALL ON SCHEMA archive FROM archive_writer;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_reader') THEN
        REVOKE ALL ON ALL TABLES IN SCHEMA archive FROM archive_reader;
        REVOKE ALL ON ALL FUNCTIONS IN SCHEMA archive FROM archive_reader;
        REVOKE ALL ON SCHEMA archive FROM archive_reader;
    END IF;
END;
$$;
-- +goose StatementEnd
ALTER TABLE archive.ingest_runs DROP COLUMN oversized;
UPDATE archive.ingest_runs SET outcome = 'failed' WHERE outcome = 'interrupted';
ALTER TABLE archive.ingest_runs DROP CONSTRAINT ingest_runs_outcome_check;
ALTER TABLE archive.ingest_runs ADD CONSTRAINT ingest_runs_outcome_check
    CHECK (outcome IN ('running', 'ok', 'failed'));
