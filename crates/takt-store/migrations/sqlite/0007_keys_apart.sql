-- The business-key index moves to a database file of its own beside the
-- log (takt.keys.db), kept by a thread of its own and rebuilt there from
-- events.business_keys: see src/sqlite/keys.rs.
DROP TABLE event_keys;
