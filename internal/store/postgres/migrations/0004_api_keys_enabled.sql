-- 0004: api_keys.enabled mirrors the document's "enabled" so the data-plane load reads the key
-- index (id, value, enabled) from columns instead of decoding every key document. PutApiKey
-- writes it with the document; existing rows are backfilled from it. doc is TEXT and PostgreSQL
-- refuses to parse JSON holding \u0000 (which a key's description may hold), so those
-- rare documents are read textually: encoding/json writes the top-level field as
-- "enabled":true, and no other member of a key document can spell that (strings escape their
-- quotes; the only maps hold strings).
ALTER TABLE api_keys ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE api_keys SET enabled = CASE
    WHEN strpos(doc, '\u0000') > 0 THEN strpos(doc, '"enabled":true') > 0
    ELSE COALESCE((doc::json->>'enabled')::boolean, FALSE)
END;
