-- Signed audit trail (issue 11): a case id for the signed payload, key id and Ed25519
-- signature per entry, append-only triggers, and the ingest run that committed each item.
ALTER TABLE case_info ADD COLUMN case_id TEXT;
UPDATE case_info SET case_id = lower(hex(randomblob(16))) WHERE case_id IS NULL;

ALTER TABLE audit_log ADD COLUMN key_id TEXT;      -- NULL: written before signing (format 1)
ALTER TABLE audit_log ADD COLUMN signature TEXT;   -- Ed25519 over the entry hash, hex

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: DELETE refused'); END;

ALTER TABLE items ADD COLUMN ingest_run INTEGER;   -- the run that committed it (NULL: before issue 11)
ALTER TABLE ingest_runs ADD COLUMN pid INTEGER;
ALTER TABLE ingest_runs ADD COLUMN host TEXT;
ALTER TABLE ingest_runs ADD COLUMN error TEXT;
