-- Enterprise presence (docs/presence.md, Privacy): the privacy level the owner gave this
-- contact; NULL = the default for the contact's domain. Never 'blocked' (that is the XEP-0191
-- blocklist).
ALTER TABLE roster_items ADD COLUMN privacy_level TEXT
  CHECK (privacy_level IS NULL OR privacy_level IN ('friends-family', 'workgroup', 'colleagues', 'external'));
