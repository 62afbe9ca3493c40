-- Senim kiosk store, schema 2: recordings in progress, so a power cut or a crash in the middle
-- of a video appeal leaves an appeal marked "interrupted" rather than nothing.

-- One row per recording that has started and has not yet been sent or thrown away. Written
-- when the camera starts, deleted in the same transaction that commits the appeal (or when the
-- citizen re-records or leaves). A row found at start-up is a recording a crash cut short.
CREATE TABLE recordings (
    id          INTEGER PRIMARY KEY,
    -- The take's folder under videos/incoming/ (relative), where the recorder writes.
    take_dir    TEXT NOT NULL UNIQUE,
    started_at  TEXT NOT NULL,
    topic       TEXT NOT NULL,
    language    TEXT NOT NULL,
    -- Personal data: the patient's IIN if they identified; gone with the row.
    iin         TEXT,
    test        INTEGER NOT NULL DEFAULT 0
) STRICT;
