-- calendar module: one iCalendar feed per user and the outcome of its last fetch.
-- Timestamps: epoch milliseconds. events: JSON of the meetings expanded in
-- [window_start, window_end) at the last successful fetch (kept across restarts so that a
-- conditional GET answered 304 still has something to show).
CREATE TABLE calendar_feeds (
  owner TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  updated INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  error TEXT,
  last_fetch INTEGER,
  last_success INTEGER,
  etag TEXT,
  last_modified TEXT,
  events TEXT,
  window_start INTEGER,
  window_end INTEGER
);
