-- blocking module (XEP-0191). id keeps the order items were blocked in.
CREATE TABLE blocking_items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner TEXT NOT NULL,
  jid TEXT NOT NULL,
  UNIQUE (owner, jid)
);
