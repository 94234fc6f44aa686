-- pep module (XEP-0163). COLLATE "C" gives code-point order, the same as SQLite.
CREATE TABLE pep_nodes (
  owner TEXT COLLATE "C" NOT NULL,
  node TEXT COLLATE "C" NOT NULL,
  config JSONB NOT NULL CHECK (jsonb_typeof(config) = 'object'),
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (owner, node)
);

-- seq orders items by publication (a re-published id gets a new seq).
CREATE TABLE pep_items (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner TEXT COLLATE "C" NOT NULL,
  node TEXT COLLATE "C" NOT NULL,
  item_id TEXT COLLATE "C" NOT NULL,
  payload TEXT NOT NULL,
  publisher TEXT NOT NULL,
  published_at TIMESTAMPTZ NOT NULL,
  UNIQUE (owner, node, item_id)
);
CREATE INDEX pep_items_node ON pep_items (owner, node, seq);
