-- offline module. Identity ids are never reused.
CREATE TABLE offline_messages (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner TEXT COLLATE "C" NOT NULL,
  stanza TEXT NOT NULL,
  stamp TIMESTAMPTZ NOT NULL
);
CREATE INDEX offline_messages_owner ON offline_messages (owner, id);
