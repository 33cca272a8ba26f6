-- 0006: API key values are no longer stored in plain text. The column that held the value now
-- holds the hex SHA-256 of it (what GetApiKeyByValue and the data plane look keys up by, and
-- what keeps values unique per region), and secret holds the value sealed with AES-GCM under
-- the master key (internal/seal). The documents stop carrying the value. Rows written before
-- this migration (secret = '') are converted by the store when it opens, in Go, since SQL
-- cannot encrypt: see sqlstore.SealKeys, which finds them through the partial index below.
ALTER TABLE api_keys RENAME COLUMN value TO value_hash;
ALTER TABLE api_keys ADD COLUMN secret TEXT NOT NULL DEFAULT '';
CREATE INDEX api_keys_unsealed ON api_keys (id) WHERE secret = '';
