-- 0007: the last usage batch each node's usage journal applied (store.Counters.CommitUsage). A
-- node keeps its unflushed usage counts in a memory-mapped journal in its data directory
-- (internal/meter); after a crash, or a flush whose outcome it never heard, it asks this table
-- whether its batch landed, so a count is neither lost nor added twice. One row per journal,
-- rewritten by every flush; ResetAll keeps it, epochs only grow.
CREATE TABLE IF NOT EXISTS usage_journals (
    journal TEXT    PRIMARY KEY,
    epoch   INTEGER NOT NULL
) WITHOUT ROWID;
