-- Senim kiosk store, schema 4: the receipt's check code. With the appeal number it opens the
-- citizen's status page at the call-centre (which keeps only its SHA-256); it is sent with the
-- appeal record and erased with the personal data once the call-centre has the appeal.
ALTER TABLE appeals ADD COLUMN check_code TEXT;
