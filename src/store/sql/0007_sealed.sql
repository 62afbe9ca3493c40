-- Senim kiosk store, schema 7: appeals sealed to the call-centre (issue 19). Once the kiosk
-- knows the call-centre's age recipient, an appeal's IIN, phone and typed text are committed
-- only as `sealed_fields` (an age file of their JSON, which only the call-centre opens) and
-- its video only as an age file (`video_sealed` = 1; `video_file` names `<id>.webm.age`,
-- `video_bytes`/`video_sha256` are the sealed file's, what is uploaded). The plaintext
-- columns stay for appeals committed before a recipient was known, sealed as soon as one is.
ALTER TABLE appeals ADD COLUMN sealed_fields BLOB;
ALTER TABLE appeals ADD COLUMN video_sealed INTEGER NOT NULL DEFAULT 0;
