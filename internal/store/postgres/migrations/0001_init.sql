-- 0001: initial schema, the same shape as the SQLite backend's. Typed tables, one per aggregate;
-- doc holds the JSON of the apigw domain struct (TEXT, not jsonb: jsonb rejects \u0000 and
-- reorders keys, and nothing queries inside documents), the other columns exist to filter, order
-- and enforce uniqueness. Key columns use the "C" collation: comparisons are byte comparisons
-- whatever the database's locale, like SQLite's, and cheaper.
--
-- seq orders lists and serves as the paging cursor; it comes from the item_seq sequence, so
-- concurrent transactions never contend for it. Ids are unique across regions (AWS ids are
-- global) although every query filters by region.

CREATE SEQUENCE item_seq;

CREATE TABLE accounts (
    region TEXT COLLATE "C" PRIMARY KEY,
    rev    BIGINT NOT NULL,
    doc    TEXT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT COLLATE "C" PRIMARY KEY,
    region      TEXT COLLATE "C" NOT NULL,
    value       TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    customer_id TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    rev         BIGINT NOT NULL,
    doc         TEXT NOT NULL,
    UNIQUE (region, value)
);
CREATE INDEX api_keys_region_seq ON api_keys (region, seq);

CREATE TABLE usage_plans (
    id     TEXT COLLATE "C" PRIMARY KEY,
    region TEXT COLLATE "C" NOT NULL,
    seq    BIGINT NOT NULL,
    rev    BIGINT NOT NULL,
    doc    TEXT NOT NULL
);
CREATE INDEX usage_plans_region_seq ON usage_plans (region, seq);

CREATE TABLE usage_plan_keys (
    plan_id TEXT COLLATE "C" NOT NULL REFERENCES usage_plans (id) ON DELETE CASCADE,
    key_id  TEXT COLLATE "C" NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    region  TEXT COLLATE "C" NOT NULL,
    seq     BIGINT NOT NULL,
    doc     TEXT NOT NULL,
    PRIMARY KEY (plan_id, key_id)
);
CREATE INDEX usage_plan_keys_key ON usage_plan_keys (key_id);
CREATE INDEX usage_plan_keys_plan_seq ON usage_plan_keys (plan_id, seq);

CREATE TABLE rest_apis (
    id     TEXT COLLATE "C" PRIMARY KEY,
    region TEXT COLLATE "C" NOT NULL,
    seq    BIGINT NOT NULL,
    rev    BIGINT NOT NULL,
    doc    TEXT NOT NULL
);
CREATE INDEX rest_apis_region_seq ON rest_apis (region, seq);

CREATE TABLE deployments (
    api_id TEXT COLLATE "C" NOT NULL REFERENCES rest_apis (id) ON DELETE CASCADE,
    id     TEXT COLLATE "C" NOT NULL,
    region TEXT COLLATE "C" NOT NULL,
    seq    BIGINT NOT NULL,
    doc    TEXT NOT NULL,
    PRIMARY KEY (api_id, id)
);
CREATE INDEX deployments_api_seq ON deployments (api_id, seq);

CREATE TABLE stages (
    api_id TEXT COLLATE "C" NOT NULL REFERENCES rest_apis (id) ON DELETE CASCADE,
    name   TEXT COLLATE "C" NOT NULL,
    region TEXT COLLATE "C" NOT NULL,
    seq    BIGINT NOT NULL,
    rev    BIGINT NOT NULL,
    doc    TEXT NOT NULL,
    PRIMARY KEY (api_id, name)
);
CREATE INDEX stages_api_seq ON stages (api_id, seq);

-- changes is the change log: one row per aggregate an Update wrote (or one row of kind '*' for a
-- bulk write); the newest seq is the store's change sequence. Writers hold the store's write
-- lock from their first statement to their commit, so seq order is commit order and a node
-- that has seen seq n has seen every commit up to n.
CREATE TABLE changes (
    seq    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region TEXT COLLATE "C" NOT NULL,
    kind   TEXT COLLATE "C" NOT NULL,
    id     TEXT COLLATE "C" NOT NULL,
    at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
