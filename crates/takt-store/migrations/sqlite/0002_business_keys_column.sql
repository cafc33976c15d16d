-- An event's business keys, kept in its own row as JSON [[kind, value], …],
-- so that reading an event needs no second lookup.
ALTER TABLE events ADD COLUMN business_keys TEXT NOT NULL DEFAULT '[]';
