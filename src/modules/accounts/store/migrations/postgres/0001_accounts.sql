-- accounts module: one row per local user; SCRAM verifiers only, never passwords.
-- COLLATE "C": code-point order, the same as SQLite, so paging is identical on both.
CREATE TABLE accounts_users (
  username TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  sha1_salt TEXT NOT NULL,
  sha1_iterations INTEGER NOT NULL,
  sha1_stored_key TEXT NOT NULL,
  sha1_server_key TEXT NOT NULL,
  sha256_salt TEXT NOT NULL,
  sha256_iterations INTEGER NOT NULL,
  sha256_stored_key TEXT NOT NULL,
  sha256_server_key TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
