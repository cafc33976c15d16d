-- A delivery record made by a replay: its message is sent again with the
-- replay marker (e.g. the HTTP header Takt-Replay: true).
ALTER TABLE deliveries ADD COLUMN replay INTEGER NOT NULL DEFAULT 0;
