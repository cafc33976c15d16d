-- Reading an event's business keys looks them up by position.
CREATE INDEX event_keys_by_seq ON event_keys (seq);
