-- Senim kiosk store, schema 1. Append-only: never edit a released migration, add 0002_….sql.
-- Timestamps are UTC RFC 3339 text with milliseconds (sortable); booleans are 0/1.

-- Facts about this kiosk: enrolment (kiosk id, token, site), sync state, clock skew.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Everything the backend must receive, in commit order. Each row announces one business row
-- (appeal, guide event, device fault) and is written in the same transaction as it.
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('appeal', 'guide_event', 'device_fault')),
    ref_id       TEXT NOT NULL,
    -- The idempotency key the backend deduplicates on.
    key          TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    delivered_at TEXT,
    -- The backend refused the record for good (a bug or a bad record); kept for a technician.
    rejected_at  TEXT,
    rejection    TEXT
) STRICT;
CREATE INDEX outbox_pending ON outbox (seq) WHERE delivered_at IS NULL AND rejected_at IS NULL;
CREATE INDEX outbox_done ON outbox (created_at) WHERE delivered_at IS NOT NULL OR rejected_at IS NOT NULL;

CREATE TABLE appeals (
    id               TEXT PRIMARY KEY,          -- the receipt number, A-XXXXXXXX
    created_at       TEXT NOT NULL,
    topic            TEXT NOT NULL,
    language         TEXT NOT NULL,
    -- Personal data: kept only until the backend has the appeal (and its video).
    iin              TEXT,
    callback_phone   TEXT,
    text             TEXT,
    -- The video file's name under <data>/videos/ (deleted once the backend confirmed it).
    video_file       TEXT,
    video_bytes      INTEGER,
    video_sha256     TEXT,
    video_seconds    INTEGER,
    interrupted      INTEGER NOT NULL DEFAULT 0,
    test             INTEGER NOT NULL DEFAULT 0,
    -- tus: the upload's URL once created, so a restart resumes it.
    upload_url       TEXT,
    video_confirmed_at TEXT
) STRICT;
CREATE INDEX appeals_video_pending ON appeals (created_at)
    WHERE video_file IS NOT NULL AND video_confirmed_at IS NULL;

-- One citizen's use of one service guide (random id, nothing personal).
CREATE TABLE guide_sessions (
    id         TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    started_at TEXT NOT NULL
) STRICT;

CREATE TABLE guide_events (
    id         INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES guide_sessions (id) ON DELETE CASCADE,
    event      TEXT NOT NULL,
    step       INTEGER,
    rating     INTEGER,
    at         TEXT NOT NULL
) STRICT;

CREATE TABLE device_faults (
    id     INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    at     TEXT NOT NULL
) STRICT;
