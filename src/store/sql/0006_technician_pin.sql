-- Senim kiosk store, the technician PIN's lock-out (issue 17): failed attempts since the last
-- right PIN and until when new attempts are refused, so a power cycle does not reset them.
-- One row at most. (0005 is the delivery's parked items; the numbers were shared out so the
-- branches merge without colliding.)
CREATE TABLE technician_pin (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    failures     INTEGER NOT NULL CHECK (failures >= 0),
    -- UTC, as `ts()` writes it; NULL when not locked.
    locked_until TEXT
) STRICT;
