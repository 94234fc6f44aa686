-- enterprise-presence module. One row per user: what survives a restart (manual state,
-- personal note, automatic replies, privacy mode, last sign-out). Times: epoch milliseconds.
CREATE TABLE enterprise_presence (
  owner TEXT NOT NULL PRIMARY KEY,
  manual_mode TEXT,
  manual_custom TEXT,
  manual_set_at INTEGER,
  manual_until INTEGER,
  manual_set_by TEXT,
  note TEXT,
  note_set_by TEXT,
  ooo INTEGER NOT NULL DEFAULT 0 CHECK (ooo IN (0, 1)),
  ooo_note TEXT,
  ooo_start INTEGER,
  ooo_end INTEGER,
  privacy_mode INTEGER NOT NULL DEFAULT 0 CHECK (privacy_mode IN (0, 1)),
  last_sign_out INTEGER
) WITHOUT ROWID;

-- IM held while the user is on Do Not Disturb (presence.dndPolicy: hold), delivered in id
-- order when they leave it. AUTOINCREMENT: ids are never reused.
CREATE TABLE enterprise_presence_held (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner TEXT NOT NULL,
  stanza TEXT NOT NULL,
  stamp INTEGER NOT NULL
);
CREATE INDEX enterprise_presence_held_owner ON enterprise_presence_held (owner, id);
