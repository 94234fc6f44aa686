-- vcard module (XEP-0054, XEP-0153). photo_hash: hex SHA-1, '' (no photo) or NULL (not
-- hashable). COLLATE "C": code-point comparison, the same as SQLite.
CREATE TABLE vcard_cards (
  owner TEXT COLLATE "C" PRIMARY KEY,
  xml TEXT NOT NULL,
  photo_hash TEXT,
  updated_at TIMESTAMPTZ NOT NULL
);
