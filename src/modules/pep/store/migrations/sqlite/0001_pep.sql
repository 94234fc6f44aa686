-- pep module (XEP-0163). config: a JSON object; times: epoch milliseconds.
CREATE TABLE pep_nodes (
  owner TEXT NOT NULL,
  node TEXT NOT NULL,
  config TEXT NOT NULL CHECK (json_valid(config)),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (owner, node)
) WITHOUT ROWID;

-- seq orders items by publication (a re-published id gets a new seq); AUTOINCREMENT never
-- reuses one.
CREATE TABLE pep_items (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  owner TEXT NOT NULL,
  node TEXT NOT NULL,
  item_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  publisher TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  UNIQUE (owner, node, item_id)
);
CREATE INDEX pep_items_node ON pep_items (owner, node, seq);
