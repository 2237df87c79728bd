-- Targets you can correct: a target whose region or source is no longer
-- wanted is retired (kept with its events, no longer walked) rather than
-- deleted; one that never archived anything (a mistyped region) may be
-- removed by the owner (`archiver targets remove`).

-- +goose Up
ALTER TABLE archive.targets ADD COLUMN retired_at timestamptz;
COMMENT ON COLUMN archive.targets.retired_at IS
    'When the target was retired (archiver targets retire): its events stay, it is no longer walked. NULL while active.';

-- +goose Down
ALTER TABLE archive.targets DROP COLUMN retired_at;
