-- 0007: the last usage batch each node's usage journal applied (store.Counters.CommitUsage), as
-- in the SQLite backend: after a crash, or a flush whose outcome it never heard, a node asks
-- this table whether its batch landed, so a count is neither lost nor added twice. ResetAll
-- keeps it: epochs only grow.
CREATE TABLE IF NOT EXISTS usage_journals (
    journal TEXT   PRIMARY KEY,
    epoch   BIGINT NOT NULL
);
