-- Senim call-centre on PostgreSQL, schema 8: shared keys (callcentre/migrations/0008_server_keys.sql).
CREATE TABLE server_keys (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
