-- Senim call-centre, schema 3: live calls stand in the queue as appeals. Append-only, like
-- every migration.

-- An answered live call is an appeal row (its id is the call's appeal-shaped id, or a fresh
-- one). The kiosk's appeal record for the call (same id, `call_secs`) later merges into it.
-- call_only: 1 while the row was made by the call alone (no kiosk record merged yet).
ALTER TABLE appeals ADD COLUMN call_only INTEGER NOT NULL DEFAULT 0;
-- How long the call lasted (answer to end), in seconds; NULL while it goes on, and for
-- appeals that were no call.
ALTER TABLE appeals ADD COLUMN call_secs INTEGER;
-- When an operator answered; NULL for appeals that were no call.
ALTER TABLE appeals ADD COLUMN call_answered_at TEXT;
-- Who took the call (username, and the name shown at the time).
ALTER TABLE appeals ADD COLUMN call_operator TEXT;
ALTER TABLE appeals ADD COLUMN call_operator_name TEXT;
-- How the call ended: hung_up, lost or error (protocol::call::EndReason).
ALTER TABLE appeals ADD COLUMN call_end TEXT;
-- What the operator wrote during or after the call, and the outcome they chose.
ALTER TABLE appeals ADD COLUMN call_notes TEXT;
ALTER TABLE appeals ADD COLUMN call_outcome TEXT
    CHECK (call_outcome IN ('resolved', 'follow_up'));
