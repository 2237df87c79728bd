-- Head walks (DESIGN.md §12): a tick walks from the newest page to the first
-- page with nothing new, unchanged or unfinished, and refreshes the
-- unfinished sends through filtered listings; a full walk (a reconcile)
-- runs on its own schedule and checks what the head walks missed. A miss
-- puts the target back on full walks, and says so here.

-- +goose Up
ALTER TABLE archive.ingest_runs
    ADD COLUMN head_walk boolean NOT NULL DEFAULT false,
    ADD COLUMN head_walk_misses integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN archive.ingest_runs.head_walk IS
    'true: a head walk (newest pages until a quiet one, plus the unfinished sends); false: a full walk of the listing (a reconcile).';
COMMENT ON COLUMN archive.ingest_runs.head_walk_misses IS
    'For a reconcile: sends it discovered that the head walks since the previous reconcile should have listed (created before the last of them started).';
ALTER TABLE archive.targets ADD COLUMN full_walks_since timestamptz;
COMMENT ON COLUMN archive.targets.full_walks_since IS
    'When a reconcile found sends the head walks had missed (the listing order is not what head walks rely on): the target has been walked in full every cycle since. NULL: head walks allowed.';

-- +goose Down
ALTER TABLE archive.targets DROP COLUMN full_walks_since;
ALTER TABLE archive.ingest_runs DROP COLUMN head_walk_misses, DROP COLUMN head_walk;
