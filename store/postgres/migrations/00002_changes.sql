-- Revisions between releases: a release's counts of changes since the
-- release it superseded (store.ChangeSummary), and an observation's value
-- before a later release revised it (store.Revision). Both are JSON read
-- whole with their row, and NULL where there is none, so adding them
-- rewrites no table and leaves every loaded release as it was.

-- +goose Up
ALTER TABLE releases ADD COLUMN changes jsonb;
ALTER TABLE observations ADD COLUMN revision jsonb;

-- +goose Down
ALTER TABLE observations DROP COLUMN revision;
ALTER TABLE releases DROP COLUMN changes;
