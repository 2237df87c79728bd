-- Sends by creation time. The period audit report and the analyst's "every
-- file pushed in a quarter" select the sends created in a period; without
-- this index each scanned every send the archive holds, so a report on last
-- month cost more every year (BENCHMARKS.md, "Years, not months"). About 20
-- bytes per send, a few bytes per event.

-- +goose Up
CREATE INDEX invocations_creation_time ON archive.invocations (creation_time);

-- +goose Down
DROP INDEX archive.invocations_creation_time;
