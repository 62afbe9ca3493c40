-- Senim call-centre, updates (issue 18): system-image bundles published with
-- `senim-callcentre update publish BUNDLE [--sites ...]` (checked with `rauc info`, kept as
-- <data>/updates/<sha256>.raucb), the sites each is rolled out to (none and all_sites = 1:
-- every site), and what each kiosk last said about its image and updates.
CREATE TABLE update_bundles (
    sha256       TEXT PRIMARY KEY,          -- of the whole bundle file, lowercase hex
    version      TEXT NOT NULL,             -- [update] version of its RAUC manifest
    size         INTEGER NOT NULL,
    published_at TEXT NOT NULL,             -- first publication; the newest is offered
    all_sites    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE update_sites (
    sha256 TEXT NOT NULL REFERENCES update_bundles(sha256),
    site   TEXT NOT NULL,
    PRIMARY KEY (sha256, site)
) STRICT;

ALTER TABLE kiosks ADD COLUMN image_version TEXT;
-- The kiosk's last update report (JSON UpdateReport) and its last failure (kept until a later
-- version installs; written at once when it arrives).
ALTER TABLE kiosks ADD COLUMN update_json TEXT;
ALTER TABLE kiosks ADD COLUMN update_failure_json TEXT;
