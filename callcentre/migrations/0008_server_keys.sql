-- Senim call-centre, shared keys (issue 21): the keys every server of one call-centre must
-- hold, recorded by the first server that started on this database — the public half of the
-- signing key (kiosks trust catalogues signed by it) and the sealing recipient in use (kiosks
-- and the servers seal personal data to it). A server holding other keys refuses to start.
CREATE TABLE server_keys (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    recorded_at TEXT NOT NULL
) STRICT;
