-- 0004: api_keys.enabled mirrors the document's "enabled" so the data-plane load reads the key
-- index (id, value, enabled) from columns instead of decoding every key document. PutApiKey
-- writes it with the document; existing rows are backfilled from it. (Numbered 0004 in both
-- backends, after PostgreSQL's 0003_nodes, so the two histories keep one numbering.)
ALTER TABLE api_keys ADD COLUMN enabled INTEGER NOT NULL DEFAULT 0;
UPDATE api_keys SET enabled = COALESCE(json_extract(doc, '$.enabled'), 0);
