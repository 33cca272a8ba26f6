-- 0008: what a 100,000-key import spends in PostgreSQL, cut to what it must do. Measured on a
-- 2-core machine with the import's own statements (issue 11): 1.7 s for api_keys and 1.5 s for
-- usage_plan_keys before; 1.15 s and 0.45 s after, with the store's COPY path (sqlstore.Copier).
--
-- * usage_plan_keys loses its two foreign keys: checking them was half of that table's insert
--   time. Every write holds the store's write lock, and the store checks both parents before it
--   inserts an association and deletes a key's or plan's associations with it (sqlstore), so the
--   lock gives what the triggers gave.
-- * Key values are unique by (value_hash, region) instead of (region, value_hash): every key of a
--   region shares the first column, so each comparison in the old order looked at it first.
-- * seq takes its value from item_seq by default, so COPY can leave the column out.
--
-- Written to run again after a test rewinds the schema to an earlier version.
ALTER TABLE usage_plan_keys DROP CONSTRAINT IF EXISTS usage_plan_keys_plan_id_fkey;
ALTER TABLE usage_plan_keys DROP CONSTRAINT IF EXISTS usage_plan_keys_key_id_fkey;
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_value_hash_region ON api_keys (value_hash, region);
ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_region_value_key;
ALTER TABLE api_keys ALTER COLUMN seq SET DEFAULT nextval('item_seq');
ALTER TABLE usage_plan_keys ALTER COLUMN seq SET DEFAULT nextval('item_seq');
