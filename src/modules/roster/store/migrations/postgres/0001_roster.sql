-- roster module. COLLATE "C" gives code-point order, the same as SQLite.
CREATE TABLE roster_items (
  owner TEXT COLLATE "C" NOT NULL,
  contact TEXT COLLATE "C" NOT NULL,
  name TEXT,
  subscription TEXT NOT NULL CHECK (subscription IN ('none', 'to', 'from', 'both')),
  ask_out BOOLEAN NOT NULL DEFAULT false,
  approved BOOLEAN NOT NULL DEFAULT false,
  groups JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(groups) = 'array'),
  PRIMARY KEY (owner, contact)
);

-- XEP-0237: one counter per owner, bumped on every change to the owner's items.
CREATE TABLE roster_versions (
  owner TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  version BIGINT NOT NULL
);

-- RFC 6121 §3.1.3: inbound subscription requests awaiting the user's decision.
CREATE TABLE roster_pending_in (
  owner TEXT COLLATE "C" NOT NULL,
  contact TEXT COLLATE "C" NOT NULL,
  status TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (owner, contact)
);
