-- Senim call-centre, schema 4: appeals handled and answered (issue 16). An appeal moves
-- new → assigned → in_progress → answered → closed; the operator's answer, the legal deadline
-- and its extension, the receipt's check code (its hash), the anti-corruption triage flag and
-- the erasure of personal data by retention live on the appeal row. Operators get roles,
-- sites, a language and can be disabled; every sensitive action lands in `audit`; SMS to
-- citizens wait in `sms_outbox`. Append-only, like every migration.
--
-- The appeals table is rebuilt (SQLite cannot change a CHECK constraint in place); `Db::open`
-- runs migrations with foreign keys off and checks them before committing, the procedure of
-- https://www.sqlite.org/lang_altertable.html#otheralter.

CREATE TABLE appeals_v4 (
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
                          CHECK (status IN ('new', 'assigned', 'in_progress', 'answered', 'closed')),
    due_at                TEXT NOT NULL,
    video_upload_id       TEXT,
    video_bytes           INTEGER,
    video_sha256          TEXT,
    call_only             INTEGER NOT NULL DEFAULT 0,
    call_secs             INTEGER,
    call_answered_at      TEXT,
    call_operator         TEXT,
    call_operator_name    TEXT,
    call_end              TEXT,
    call_notes            TEXT,
    call_outcome          TEXT CHECK (call_outcome IN ('resolved', 'follow_up')),
    -- The operator the appeal is assigned to (username); NULL while nobody has it.
    assigned_to           TEXT REFERENCES operators(username),
    -- The answer to the citizen, in `answer_language` (kk, ru or en), who wrote it and when.
    answer_text           TEXT,
    answer_language       TEXT CHECK (answer_language IN ('kk', 'ru', 'en')),
    answered_at           TEXT,
    answered_by           TEXT,
    -- Closing: when, and why when it was closed without an answer.
    closed_at             TEXT,
    close_reason          TEXT,
    -- The legal limit was extended (to [deadlines] extended_days) for this recorded reason.
    due_extended_reason   TEXT,
    -- SHA-256 (hex) of the receipt's check code; the code itself is never kept here.
    check_hash            TEXT,
    -- A report of a bribe or an improper demand: only anti-corruption operators see it.
    anticorruption        INTEGER NOT NULL DEFAULT 0,
    -- Retention erased the personal data (IIN, phone, text, video, answer) at this time.
    erased_at             TEXT
) STRICT;

INSERT INTO appeals_v4 (id, kiosk_id, topic, created_at, received_at, language, iin,
    callback_phone, body_text, expected_video_bytes, expected_video_sha256, duration_seconds,
    interrupted, test, status, due_at, video_upload_id, video_bytes, video_sha256, call_only,
    call_secs, call_answered_at, call_operator, call_operator_name, call_end, call_notes,
    call_outcome, anticorruption)
SELECT id, kiosk_id, topic, created_at, received_at, language, iin, callback_phone, body_text,
    expected_video_bytes, expected_video_sha256, duration_seconds, interrupted, test, status,
    due_at, video_upload_id, video_bytes, video_sha256, call_only, call_secs, call_answered_at,
    call_operator, call_operator_name, call_end, call_notes, call_outcome,
    topic = 'bribe_report'
FROM appeals;

DROP TABLE appeals;
ALTER TABLE appeals_v4 RENAME TO appeals;

-- The queue filters and sorts in SQL: by status and deadline, by assignee, by kiosk, by
-- topic, by time, and the triage flag.
CREATE INDEX appeals_by_status ON appeals (status, due_at);
CREATE INDEX appeals_by_assignee ON appeals (assigned_to, status, due_at);
CREATE INDEX appeals_by_kiosk ON appeals (kiosk_id, created_at);
CREATE INDEX appeals_by_topic ON appeals (topic, created_at);
CREATE INDEX appeals_by_created ON appeals (created_at);
CREATE INDEX appeals_by_triage ON appeals (anticorruption, status, due_at);
CREATE INDEX appeals_by_closed ON appeals (closed_at) WHERE erased_at IS NULL;
CREATE INDEX kiosks_by_site ON kiosks (site);

-- The appeal's history gains the lifecycle's actions (rebuilt for the wider CHECK).
CREATE TABLE appeal_events_v4 (
    id          INTEGER PRIMARY KEY,
    appeal_id   TEXT NOT NULL REFERENCES appeals(id),
    at          TEXT NOT NULL,
    operator    TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('status', 'note', 'reveal_iin', 'assign',
                    'answer', 'close', 'extend', 'sms', 'erase')),
    from_status TEXT,
    to_status   TEXT,
    note        TEXT
) STRICT;
INSERT INTO appeal_events_v4 (id, appeal_id, at, operator, action, from_status, to_status, note)
SELECT id, appeal_id, at, operator, action, from_status, to_status, note FROM appeal_events;
DROP TABLE appeal_events;
ALTER TABLE appeal_events_v4 RENAME TO appeal_events;
CREATE INDEX appeal_events_by_appeal ON appeal_events (appeal_id, id);

-- Operators: a console language (NULL: the browser's), disabled accounts, roles and sites.
ALTER TABLE operators ADD COLUMN language TEXT CHECK (language IN ('kk', 'ru', 'en'));
ALTER TABLE operators ADD COLUMN disabled_at TEXT;

CREATE TABLE operator_roles (
    username TEXT NOT NULL REFERENCES operators(username),
    role     TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'anticorruption')),
    PRIMARY KEY (username, role)
) STRICT;
-- Operators made before roles could already manage the fleet: they keep doing so.
INSERT INTO operator_roles (username, role) SELECT username, 'operator' FROM operators;
INSERT INTO operator_roles (username, role) SELECT username, 'admin' FROM operators;

-- Sites an operator may handle; none listed means every site.
CREATE TABLE operator_sites (
    username TEXT NOT NULL REFERENCES operators(username),
    site     TEXT NOT NULL,
    PRIMARY KEY (username, site)
) STRICT;

-- Who did what, for the audit: sign-ins (failed ones with the name tried and the address),
-- appeal views, video plays, IIN reveals, assignments, answers, enrolment codes, kiosk
-- revocations, operator changes, purges, refusals (403).
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT,          -- the operator's username (or the name tried at a failed sign-in)
    action      TEXT NOT NULL,
    appeal_id   TEXT,          -- no foreign key: the row outlives retention
    target      TEXT,          -- another operator, a kiosk, a site…
    address     TEXT,          -- the client's address, where there is one
    detail      TEXT
) STRICT;
CREATE INDEX audit_by_time ON audit (at);
CREATE INDEX audit_by_appeal ON audit (appeal_id, at);

-- Extra codes opening an appeal's status page, one made for each SMS (the receipt's own
-- code is known only by its hash on the appeal row).
CREATE TABLE status_links (
    code_hash   TEXT PRIMARY KEY,      -- SHA-256 (hex) of the link code
    appeal_id   TEXT NOT NULL REFERENCES appeals(id),
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX status_links_by_appeal ON status_links (appeal_id);

-- SMS to citizens, sent by the server from this outbox with retries.
CREATE TABLE sms_outbox (
    id          INTEGER PRIMARY KEY,
    appeal_id   TEXT NOT NULL REFERENCES appeals(id),
    phone       TEXT NOT NULL,         -- erased ('') once sent, and by retention
    body        TEXT NOT NULL,         -- erased ('') once sent, and by retention
    created_at  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     TEXT NOT NULL,
    sent_at     TEXT,
    last_error  TEXT
) STRICT;
CREATE INDEX sms_outbox_due ON sms_outbox (next_at) WHERE sent_at IS NULL;
