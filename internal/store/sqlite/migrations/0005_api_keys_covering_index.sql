-- 0005: the data plane loads every key (id, value, enabled) newest first. With only (region, seq)
-- indexed, each row of that scan was a lookup into the table, whose rows hold the whole key
-- document; at a million keys those lookups were most of the load. This index holds the columns
-- the load reads, so it scans the index alone. Its (region, seq) prefix serves GetApiKeys
-- paging as the index it replaces did.
CREATE INDEX api_keys_key_index ON api_keys (region, seq, id, value, enabled);
DROP INDEX api_keys_region_seq;
