-- 0003: node membership (store.Membership). heartbeat_at is the database's clock, never a node's,
-- so skew between nodes cannot make one look dead or alive.
CREATE TABLE nodes (
    id           TEXT COLLATE "C" PRIMARY KEY,
    heartbeat_at TIMESTAMPTZ NOT NULL
);
