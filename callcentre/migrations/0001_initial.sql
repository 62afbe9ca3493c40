-- Senim call-centre, schema 1. Append-only: never edit a shipped migration, add a new file.
-- Times are UTC, RFC 3339 with milliseconds and `Z`, so text order is time order.

CREATE TABLE enrol_codes (
    code_hash   TEXT PRIMARY KEY,          -- SHA-256 of the code; the code itself is not kept
    site        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    kiosk_id    TEXT
) STRICT;

CREATE TABLE kiosks (
    id              TEXT PRIMARY KEY,
    site            TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,  -- SHA-256 of the bearer token
    enrolled_at     TEXT NOT NULL,
    revoked_at      TEXT,
    last_heartbeat  TEXT,
    state           TEXT,
    queue_depth     INTEGER,
    devices_json    TEXT,
    app_version     TEXT,
    catalog_version TEXT,
    clock_skew_ms   INTEGER
) STRICT;

-- One row per idempotency key a kiosk ever sent: replays find it here.
CREATE TABLE records (
    kiosk_id    TEXT NOT NULL REFERENCES kiosks(id),
    idem_key    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    stored_at   TEXT NOT NULL,
    PRIMARY KEY (kiosk_id, idem_key)
) STRICT;

CREATE TABLE appeals (
    id                    TEXT PRIMARY KEY,   -- the number on the citizen's receipt
    kiosk_id              TEXT NOT NULL REFERENCES kiosks(id),
    topic                 TEXT NOT NULL,
    created_at            TEXT NOT NULL,
    received_at           TEXT NOT NULL,
    language              TEXT NOT NULL,
    iin                   TEXT,
    callback_phone        TEXT,
    body_text             TEXT,
    expected_video_bytes  INTEGER,
    expected_video_sha256 TEXT,
    duration_seconds      INTEGER,
    interrupted           INTEGER NOT NULL,
    test                  INTEGER NOT NULL,
    status                TEXT NOT NULL DEFAULT 'new'
                          CHECK (status IN ('new', 'in_progress', 'answered', 'closed')),
    due_at                TEXT NOT NULL,
    video_upload_id       TEXT,
    video_bytes           INTEGER,
    video_sha256          TEXT
) STRICT;
CREATE INDEX appeals_by_status ON appeals (status, created_at);

-- Who did what to an appeal, and when: status changes, notes, IIN reveals.
CREATE TABLE appeal_events (
    id          INTEGER PRIMARY KEY,
    appeal_id   TEXT NOT NULL REFERENCES appeals(id),
    at          TEXT NOT NULL,
    operator    TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('status', 'note', 'reveal_iin')),
    from_status TEXT,
    to_status   TEXT,
    note        TEXT
) STRICT;
CREATE INDEX appeal_events_by_appeal ON appeal_events (appeal_id, id);

CREATE TABLE guide_events (
    id          INTEGER PRIMARY KEY,
    kiosk_id    TEXT NOT NULL REFERENCES kiosks(id),
    session_id  TEXT NOT NULL,
    service_id  TEXT NOT NULL,
    event       TEXT NOT NULL,
    step        INTEGER,
    rating      INTEGER,
    at          TEXT NOT NULL
) STRICT;

CREATE TABLE device_faults (
    id          INTEGER PRIMARY KEY,
    kiosk_id    TEXT NOT NULL REFERENCES kiosks(id),
    device      TEXT NOT NULL,
    status      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    at          TEXT NOT NULL
) STRICT;
CREATE INDEX device_faults_by_kiosk ON device_faults (kiosk_id, at);

-- tus uploads; the bytes are in <data>/uploads/<id>.
CREATE TABLE uploads (
    id            TEXT PRIMARY KEY,
    kiosk_id      TEXT NOT NULL REFERENCES kiosks(id),
    appeal_id     TEXT NOT NULL REFERENCES appeals(id),
    length        INTEGER NOT NULL,
    offset        INTEGER NOT NULL DEFAULT 0,
    metadata      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    completed_at  TEXT,
    sha256        TEXT,
    expired_at    TEXT
) STRICT;

CREATE TABLE operators (
    username      TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,          -- argon2id PHC string
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,          -- SHA-256 of the cookie value
    username    TEXT NOT NULL REFERENCES operators(username),
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;

CREATE TABLE catalog_versions (
    version       TEXT PRIMARY KEY,
    published_at  TEXT NOT NULL,
    files_json    TEXT NOT NULL
) STRICT;
