-- caps module (XEP-0115): verified disco#info results by hash function and 'ver'.
-- created_at: epoch milliseconds.
CREATE TABLE caps_entries (
  hash TEXT NOT NULL,
  ver TEXT NOT NULL,
  identities TEXT NOT NULL,
  features TEXT NOT NULL,
  forms TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (hash, ver)
);
