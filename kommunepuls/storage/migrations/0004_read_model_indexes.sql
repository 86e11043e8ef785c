-- Indexes that keep each metrics flush one index probe per changed cell, whatever the
-- planner knows about the tables (their statistics lag while a fresh platform fills them),
-- measured with auto_explain during bench/latency.py.

-- The latest revision of a cell (ORDER BY id DESC LIMIT 1) and a cell's revisions in id
-- order. Indexed by recorded_at, each lookup sorted all of the cell's revisions, so
-- flushes slowed as revisions accumulated. recorded_at follows id, so the "as known on"
-- reads filter it on the same index.
DROP INDEX indicator_revisions_cell;
CREATE INDEX indicator_revisions_latest
    ON indicator_revisions (indicator, municipality, period, grp, id);

-- A cell's pooled sum over partitions: with (indicator, period) the generic plan of the
-- flush picked that index and filtered every municipality's rows per cell (0.26 ms a cell,
-- growing). Every column of a cell is now in both candidate indexes; this one also serves
-- the gateway's "all municipalities of a group and periods" reads.
DROP INDEX indicator_counts_period;
CREATE INDEX indicator_counts_group_period
    ON indicator_counts (indicator, grp, period, municipality);
