-- enterprise-presence module. One row per user: what survives a restart (manual state,
-- personal note, automatic replies, privacy mode, last sign-out). Times: epoch milliseconds.
CREATE TABLE enterprise_presence (
  owner TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  manual_mode TEXT,
  manual_custom TEXT,
  manual_set_at BIGINT,
  manual_until BIGINT,
  manual_set_by TEXT,
  note TEXT,
  note_set_by TEXT,
  ooo BOOLEAN NOT NULL DEFAULT false,
  ooo_note TEXT,
  ooo_start BIGINT,
  ooo_end BIGINT,
  privacy_mode BOOLEAN NOT NULL DEFAULT false,
  last_sign_out BIGINT
);

-- IM held while the user is on Do Not Disturb (presence.dndPolicy: hold), delivered in id
-- order when they leave it. Identity ids are never reused.
CREATE TABLE enterprise_presence_held (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner TEXT COLLATE "C" NOT NULL,
  stanza TEXT NOT NULL,
  stamp BIGINT NOT NULL
);
CREATE INDEX enterprise_presence_held_owner ON enterprise_presence_held (owner, id);
