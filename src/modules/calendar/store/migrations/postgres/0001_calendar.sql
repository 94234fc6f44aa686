-- calendar module: one iCalendar feed per user and the outcome of its last fetch.
-- events: JSON of the meetings expanded in [window_start, window_end) at the last successful
-- fetch (kept across restarts so that a conditional GET answered 304 still has something to
-- show). COLLATE "C": code-point order, the same as SQLite (list() pages by owner).
CREATE TABLE calendar_feeds (
  owner TEXT COLLATE "C" PRIMARY KEY,
  url TEXT NOT NULL,
  updated TIMESTAMPTZ NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  error TEXT,
  last_fetch TIMESTAMPTZ,
  last_success TIMESTAMPTZ,
  etag TEXT,
  last_modified TEXT,
  events TEXT,
  window_start TIMESTAMPTZ,
  window_end TIMESTAMPTZ
);
