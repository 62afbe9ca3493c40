-- Senim call-centre, trust (issue 17): each published catalogue version carries the
-- call-centre's Ed25519 signature (base64) over its version and files, made by
-- `catalog publish` with the key in the data folder (`signing.key`); kiosks refuse a catalogue
-- without a valid one. Versions published before have none until they are published again.
ALTER TABLE catalog_versions ADD COLUMN signature TEXT;
