-- The records that hold their key, in position order: where a draining
-- worker finds each key's oldest pending message without stepping over the
-- records already delivered.
CREATE INDEX deliveries_holding ON deliveries (subscription, seq) WHERE holds_key;
