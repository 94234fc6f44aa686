-- caps module (XEP-0115): verified disco#info results by hash function and 'ver'.
-- COLLATE "C": 'ver' is base64, case matters.
CREATE TABLE caps_entries (
  hash TEXT COLLATE "C" NOT NULL,
  ver TEXT COLLATE "C" NOT NULL,
  identities TEXT NOT NULL,
  features TEXT NOT NULL,
  forms TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (hash, ver)
);
