-- Senim kiosk store, schema 3: live calls. An appeal that was a live call with an operator keeps
-- its length (its number is the call's id, so the call-centre joins it to the operator's notes),
-- and a call's recording in progress keeps that id, so a crash mid-call still leaves the call's
-- appeal under the same number.
ALTER TABLE appeals ADD COLUMN call_secs INTEGER;
ALTER TABLE recordings ADD COLUMN call_id TEXT;
