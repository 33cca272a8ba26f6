-- 0002: quota and usage counters (store.Counters), as in the SQLite backend. Counter writes never
-- touch the change log: they are not configuration and must not wake snapshot rebuilds.
-- Instants are Unix seconds (UTC), exactly as SQLite keys them, so a QuotaKey names the same row
-- in both backends. Primary keys lead with (region, plan_id) and then the column the reads range
-- over, so every query is one index range.

-- reserved: quota leased to nodes for one key and period (ReserveQuota/ReleaseQuota).
-- last_grant: what the latest ReserveQuota granted, returned by the same upsert (PostgreSQL 15
-- cannot return the old row from ON CONFLICT DO UPDATE).
CREATE TABLE quota_reservations (
    region       TEXT COLLATE "C" NOT NULL,
    plan_id      TEXT COLLATE "C" NOT NULL,
    key_id       TEXT COLLATE "C" NOT NULL,
    period_start BIGINT NOT NULL,
    reserved     BIGINT NOT NULL CHECK (reserved >= 0),
    last_grant   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (region, plan_id, key_id, period_start)
);

-- UpdateUsage overrides: the allowance of one key for one period.
CREATE TABLE quota_allowances (
    region       TEXT COLLATE "C" NOT NULL,
    plan_id      TEXT COLLATE "C" NOT NULL,
    period_start BIGINT NOT NULL,
    key_id       TEXT COLLATE "C" NOT NULL,
    allowance    BIGINT NOT NULL,
    PRIMARY KEY (region, plan_id, period_start, key_id)
);

-- Admitted requests per key per UTC day (day = Unix seconds of 00:00 UTC), summed over nodes.
CREATE TABLE usage_days (
    region  TEXT COLLATE "C" NOT NULL,
    plan_id TEXT COLLATE "C" NOT NULL,
    day     BIGINT NOT NULL,
    key_id  TEXT COLLATE "C" NOT NULL,
    count   BIGINT NOT NULL,
    PRIMARY KEY (region, plan_id, day, key_id)
);
