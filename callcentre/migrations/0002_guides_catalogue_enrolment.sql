-- Senim call-centre, schema 2: the site mode chosen with an enrolment code, a kiosk's refused
-- catalogue, catalogue versions named by their content, and the index the guide figures use.
-- Append-only, like every migration.

-- `hospital` (appeals first) or `front-office` (service guides first); codes and kiosks made
-- before this migration were hospital trust kiosks.
ALTER TABLE enrol_codes ADD COLUMN mode TEXT NOT NULL DEFAULT 'hospital'
    CHECK (mode IN ('hospital', 'front-office'));
ALTER TABLE kiosks ADD COLUMN mode TEXT NOT NULL DEFAULT 'hospital'
    CHECK (mode IN ('hospital', 'front-office'));

-- The catalogue version a kiosk refused and why (JSON of protocol::CatalogProblem), from its
-- latest heartbeat; NULL while it has no complaint.
ALTER TABLE kiosks ADD COLUMN catalog_problem_json TEXT;

-- SHA-256 of the published files (canonical JSON): publishing the same content again finds
-- its version instead of making a new one.
ALTER TABLE catalog_versions ADD COLUMN content_sha256 TEXT;
CREATE UNIQUE INDEX catalog_versions_by_content ON catalog_versions (content_sha256);
CREATE INDEX catalog_versions_by_time ON catalog_versions (published_at);

-- The service-guide figures read events by time range.
CREATE INDEX guide_events_by_time ON guide_events (at);
