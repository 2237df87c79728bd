-- Grants that later migrations cannot forget: every table, view and function
-- the migrating role (the archive's owner) creates in the schema from now on
-- is readable by archive_reader and archive_writer, and its functions are
-- callable. Writes stay explicit: a migration that adds a table the archiver
-- writes grants exactly the privileges it needs.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_reader')
       OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_writer') THEN
        RAISE NOTICE 'archive: roles archive_reader and archive_writer do not exist; skipping default privileges';
        RETURN;
    END IF;
    ALTER DEFAULT PRIVILEGES IN SCHEMA archive GRANT SELECT ON TABLES TO archive_reader, archive_writer;
    ALTER DEFAULT PRIVILEGES IN SCHEMA archive GRANT EXECUTE ON FUNCTIONS TO archive_reader, archive_writer;
    ALTER DEFAULT PRIVILEGES IN SCHEMA archive GRANT USAGE ON SEQUENCES TO archive_writer;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_reader')
       OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'archive_writer') THEN
        RETURN;
    END IF;
    ALTER DEFAULT PRIVILEGES IN SCHEMA archive REVOKE SELECT ON TABLES FROM archive_reader, archive_writer;
    ALTER DEFAULT PRIVILEGES IN SCHEMA archive REVOKE EXECUTE ON FUNCTIONS FROM archive_reader, archive_writer;
    ALTER DEFAULT PRIVILEGES IN SCHEMA archive REVOKE USAGE ON SEQUENCES FROM archive_writer;
END;
$$;
-- +goose StatementEnd
