-- Senim kiosk store, schema 5: delivery never stalls. A video the call-centre refuses for good
-- (a documented refusal code), whose file is gone, or whose checksum kept failing is parked
-- with its reason: kept on the kiosk for a technician, and the next video goes. The failed
-- checksum comparisons are counted here (not in memory), so `[sync] max_video_attempts`
-- holds across restarts. (Records refused for good are parked in `outbox.rejected_at` and
-- `outbox.rejection`, as before.)
ALTER TABLE appeals ADD COLUMN video_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE appeals ADD COLUMN video_parked_at TEXT;
ALTER TABLE appeals ADD COLUMN video_parked_reason TEXT;
DROP INDEX appeals_video_pending;
CREATE INDEX appeals_video_pending ON appeals (created_at)
    WHERE video_file IS NOT NULL AND video_confirmed_at IS NULL AND video_parked_at IS NULL;
