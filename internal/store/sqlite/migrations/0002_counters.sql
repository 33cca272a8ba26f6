-- 0100: quota and usage counters (store.Counters). Numbered apart from the configuration schema
-- (0001…) because another part of the code owns that history. Counter writes never touch the
-- change log: they are not configuration and must not wake snapshot rebuilds.
-- Instants are Unix seconds (UTC): period starts and days fall on whole seconds, and integers
-- compare and index cheaply. Primary keys lead with (region, plan_id) and then the column
-- the reads range over, so every query is one index range; WITHOUT ROWID stores each row once.

-- reserved: quota leased to nodes for one key and period (ReserveQuota/ReleaseQuota).
-- last_grant: what the latest ReserveQuota granted, returned by the same upsert.
CREATE TABLE quota_reservations (
    region       TEXT    NOT NULL,
    plan_id      TEXT    NOT NULL,
    key_id       TEXT    NOT NULL,
    period_start INTEGER NOT NULL,
    reserved     INTEGER NOT NULL CHECK (reserved >= 0),
    last_grant   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (region, plan_id, key_id, period_start)
) WITHOUT ROWID;

-- UpdateUsage overrides: the allowance of one key for one period.
CREATE TABLE quota_allowances (
    region       TEXT    NOT NULL,
    plan_id      TEXT    NOT NULL,
    period_start INTEGER NOT NULL,
    key_id       TEXT    NOT NULL,
    allowance    INTEGER NOT NULL,
    PRIMARY KEY (region, plan_id, period_start, key_id)
) WITHOUT ROWID;

-- Admitted requests per key per UTC day (day = Unix seconds of 00:00 UTC).
CREATE TABLE usage_days (
    region  TEXT    NOT NULL,
    plan_id TEXT    NOT NULL,
    day     INTEGER NOT NULL,
    key_id  TEXT    NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (region, plan_id, day, key_id)
) WITHOUT ROWID;
