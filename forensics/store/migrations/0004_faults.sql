-- Faults and edge cases (issue 12).

-- A hash set is visible (listed, matched, categorising) only once it is completely
-- imported: entries are written under state 'importing' and the set flips to 'ready' in
-- one transaction at the end. A killed import leaves an 'importing' set that nothing
-- reads; the next import of that name removes it first.
ALTER TABLE hash_sets ADD COLUMN state TEXT NOT NULL DEFAULT 'ready' CHECK (state IN ('importing', 'ready'));
ALTER TABLE hash_sets ADD COLUMN import_pid INTEGER;
-- Deleting a set's entries checks hash_matches by entry for the foreign key.
CREATE INDEX hash_matches_entry ON hash_matches(entry_id);

-- 1 = the file failed for a reason that can pass (I/O, stat, permission, timeout): the
-- next ingest of its source tries it again, keeping the item's id and the analyst's marks.
ALTER TABLE items ADD COLUMN retry INTEGER NOT NULL DEFAULT 0;
CREATE INDEX items_retry ON items(source_id) WHERE retry = 1;
-- Symlink targets as the exact bytes on disk (link_target stays the display form).
ALTER TABLE items ADD COLUMN link_target_raw BLOB;
