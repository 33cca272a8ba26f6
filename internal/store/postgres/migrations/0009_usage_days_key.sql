-- 0009: GetUsage and UpdateUsage read the usage of the keys they report, not the plan's (issue
-- 11). usage_days is ordered by day, so that a flush's rows for today sit together; this index
-- orders the same rows by key, so that a page of 1,000 keys over 90 days is 1,000 short ranges
-- whether its plan has a thousand keys in use or a million. A count's update does not touch it:
-- a flush writes it once per key and day, when the day's row is made.
CREATE INDEX IF NOT EXISTS usage_days_key ON usage_days (region, plan_id, key_id, day);
