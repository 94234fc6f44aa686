-- blocking module (XEP-0191). id keeps the order items were blocked in.
-- COLLATE "C": code-point comparison, the same as SQLite.
CREATE TABLE blocking_items (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner TEXT COLLATE "C" NOT NULL,
  jid TEXT COLLATE "C" NOT NULL,
  UNIQUE (owner, jid)
);
