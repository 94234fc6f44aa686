-- offline module. AUTOINCREMENT: ids are never reused, even after the newest is deleted.
-- stamp: epoch milliseconds.
CREATE TABLE offline_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner TEXT NOT NULL,
  stanza TEXT NOT NULL,
  stamp INTEGER NOT NULL
);
CREATE INDEX offline_messages_owner ON offline_messages (owner, id);
