-- 0005: the data plane loads every key (id, value, enabled) newest first. This index carries
-- those columns, so the load can be an index-only scan instead of a heap fetch per key (the
-- heap rows hold whole key documents). Its (region, seq) key serves GetApiKeys paging as the
-- index it replaces did.
CREATE INDEX api_keys_key_index ON api_keys (region, seq) INCLUDE (id, value, enabled);
DROP INDEX api_keys_region_seq;
