-- 0001: initial schema. Typed tables, one per aggregate; doc holds the JSON of the apigw domain
-- struct, the other columns exist to filter, order and enforce uniqueness. seq is the insertion
-- counter (counters row 'seq') that orders lists and serves as the paging cursor. Every query
-- filters by region; ids are nevertheless unique across regions (AWS ids are global).

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('seq', 0);

CREATE TABLE accounts (
    region TEXT PRIMARY KEY,
    rev    INTEGER NOT NULL,
    doc    TEXT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    region      TEXT NOT NULL,
    value       TEXT NOT NULL,
    name        TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    rev         INTEGER NOT NULL,
    doc         TEXT NOT NULL,
    UNIQUE (region, value)
);
CREATE INDEX api_keys_region_seq ON api_keys (region, seq);

CREATE TABLE usage_plans (
    id     TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    rev    INTEGER NOT NULL,
    doc    TEXT NOT NULL
);
CREATE INDEX usage_plans_region_seq ON usage_plans (region, seq);

CREATE TABLE usage_plan_keys (
    plan_id TEXT NOT NULL REFERENCES usage_plans (id) ON DELETE CASCADE,
    key_id  TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    region  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    doc     TEXT NOT NULL,
    PRIMARY KEY (plan_id, key_id)
);
CREATE INDEX usage_plan_keys_key ON usage_plan_keys (key_id);
CREATE INDEX usage_plan_keys_plan_seq ON usage_plan_keys (plan_id, seq);

CREATE TABLE rest_apis (
    id     TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    rev    INTEGER NOT NULL,
    doc    TEXT NOT NULL
);
CREATE INDEX rest_apis_region_seq ON rest_apis (region, seq);

CREATE TABLE deployments (
    api_id TEXT NOT NULL REFERENCES rest_apis (id) ON DELETE CASCADE,
    id     TEXT NOT NULL,
    region TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    doc    TEXT NOT NULL,
    PRIMARY KEY (api_id, id)
);
CREATE INDEX deployments_api_seq ON deployments (api_id, seq);

CREATE TABLE stages (
    api_id TEXT NOT NULL REFERENCES rest_apis (id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    region TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    rev    INTEGER NOT NULL,
    doc    TEXT NOT NULL,
    PRIMARY KEY (api_id, name)
);
CREATE INDEX stages_api_seq ON stages (api_id, seq);

-- changes is the change log: one row per aggregate an Update wrote (or one row of kind '*' for a
-- bulk write), newest seq = the store's change sequence.
CREATE TABLE changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    region TEXT NOT NULL,
    kind   TEXT NOT NULL,
    id     TEXT NOT NULL,
    at     INTEGER NOT NULL
);
