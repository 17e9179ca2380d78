-- Per-entry meaning of known-hash set entries (issue 14) and real file creation times.
--
-- One Project VIC file mixes categories 0-4, so what an entry means is decided per entry,
-- not per set: category 0 is non-pertinent (hidden like known-good, never known-bad),
-- 1-2 are the known-bad categories of the VICS scheme, other categories are applied but
-- not counted as known-bad. The set's kind is only the default for entries that carry no
-- category (md5sum lists, NSRL).
ALTER TABLE hash_set_entries ADD COLUMN status TEXT
    CHECK (status IN ('known-bad', 'categorised', 'non-pertinent', 'known-good'));
ALTER TABLE hash_set_entries ADD COLUMN offender_identified INTEGER;  -- 0/1/NULL
ALTER TABLE hash_set_entries ADD COLUMN is_distributed INTEGER;       -- 0/1/NULL
ALTER TABLE hash_set_entries ADD COLUMN media_size INTEGER;           -- VICS MediaSize, when given

UPDATE hash_set_entries SET status = CASE
    WHEN category IS NULL THEN (SELECT kind FROM hash_sets s WHERE s.id = hash_set_entries.set_id)
    WHEN category = 0 THEN 'non-pertinent'
    WHEN category IN (1, 2) THEN 'known-bad'
    ELSE 'categorised' END;
CREATE INDEX hash_set_entries_status ON hash_set_entries(set_id, status);
-- Any writer that leaves status out gets the same rule (forensics.store.hashset_status.entry_status).
CREATE TRIGGER hash_set_entries_default_status AFTER INSERT ON hash_set_entries WHEN NEW.status IS NULL
BEGIN
    UPDATE hash_set_entries SET status = CASE
        WHEN NEW.category IS NULL THEN (SELECT kind FROM hash_sets s WHERE s.id = NEW.set_id)
        WHEN NEW.category = 0 THEN 'non-pertinent'
        WHEN NEW.category IN (1, 2) THEN 'known-bad'
        ELSE 'categorised' END
    WHERE id = NEW.id;
END;

-- Entries whose hash is that of an empty file: kept, never matched (counted apart).
ALTER TABLE hash_sets ADD COLUMN zero_length INTEGER NOT NULL DEFAULT 0;

-- File system birth (creation) time where the file system recorded one (statx btime,
-- st_birthtime, NTFS/HFS+ crtime). ctime_utc is the inode change time on Unix and is
-- never exported as a creation time.
ALTER TABLE items ADD COLUMN btime_utc TEXT;
