-- At most one open (unfinished, unexpired) upload per appeal, enforced by the store; and the
-- open uploads of a kiosk counted from an index (the bound per kiosk).
-- Older builds made a new upload for each try: keep the newest open one of each appeal, expire
-- the others (the start-up sweep deletes their bytes).
UPDATE uploads SET expired_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE completed_at IS NULL AND expired_at IS NULL
  AND rowid NOT IN (
    SELECT max(rowid) FROM uploads
    WHERE completed_at IS NULL AND expired_at IS NULL
    GROUP BY appeal_id
  );
CREATE UNIQUE INDEX uploads_one_open_per_appeal ON uploads (appeal_id)
  WHERE completed_at IS NULL AND expired_at IS NULL;
CREATE INDEX uploads_open_by_kiosk ON uploads (kiosk_id)
  WHERE completed_at IS NULL AND expired_at IS NULL;
