-- vcard module (XEP-0054, XEP-0153). photo_hash: hex SHA-1, '' (no photo) or NULL (not
-- hashable). updated_at: epoch milliseconds.
CREATE TABLE vcard_cards (
  owner TEXT PRIMARY KEY,
  xml TEXT NOT NULL,
  photo_hash TEXT,
  updated_at INTEGER NOT NULL
);
