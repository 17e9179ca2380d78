-- Faults and edge cases (issue 12).

-- A hash set is visible (listed, matched, categorising) only once it is completely
-- imported: entries are written under state 'importing' and the set flips to 'ready' in
-- one transaction at the end. A killed import leaves an 'importing' set that nothing
-- reads; the next import of that name removes it first.
ALTER TABLE hash_sets ADD COLUMN state TEXT NOT NULL DEFAULT 'ready' CHECK (state IN ('importing', 'ready'));
ALTER TABLE hash_sets ADD COLUMN import_pid INTEGER;
-- Deleting a set's entries checks hash_matches by entry for the foreign key.
CREATE INDEX hash_matches_entry ON hash_matches(entry_id);
