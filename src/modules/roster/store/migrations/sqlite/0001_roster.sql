-- roster module. Booleans are 0/1, groups a JSON array of strings, times epoch milliseconds.
CREATE TABLE roster_items (
  owner TEXT NOT NULL,
  contact TEXT NOT NULL,
  name TEXT,
  subscription TEXT NOT NULL CHECK (subscription IN ('none', 'to', 'from', 'both')),
  ask_out INTEGER NOT NULL DEFAULT 0 CHECK (ask_out IN (0, 1)),
  approved INTEGER NOT NULL DEFAULT 0 CHECK (approved IN (0, 1)),
  groups TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(groups)),
  PRIMARY KEY (owner, contact)
) WITHOUT ROWID;

-- XEP-0237: one counter per owner, bumped on every change to the owner's items.
CREATE TABLE roster_versions (
  owner TEXT NOT NULL PRIMARY KEY,
  version INTEGER NOT NULL
) WITHOUT ROWID;

-- RFC 6121 §3.1.3: inbound subscription requests awaiting the user's decision.
CREATE TABLE roster_pending_in (
  owner TEXT NOT NULL,
  contact TEXT NOT NULL,
  status TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (owner, contact)
) WITHOUT ROWID;
