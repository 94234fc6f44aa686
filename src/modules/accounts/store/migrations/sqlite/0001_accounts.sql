-- accounts module: one row per local user; SCRAM verifiers only, never passwords.
-- created_at: epoch milliseconds.
CREATE TABLE accounts_users (
  username TEXT NOT NULL PRIMARY KEY,
  sha1_salt TEXT NOT NULL,
  sha1_iterations INTEGER NOT NULL,
  sha1_stored_key TEXT NOT NULL,
  sha1_server_key TEXT NOT NULL,
  sha256_salt TEXT NOT NULL,
  sha256_iterations INTEGER NOT NULL,
  sha256_stored_key TEXT NOT NULL,
  sha256_server_key TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
