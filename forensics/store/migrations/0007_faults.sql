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

-- Times as instants: taken_time stays as recorded; taken_utc is the UTC instant used for
-- sorting and filtering, taken_local the recorded wall-clock value, taken_offset its UTC
-- offset (+HH:MM) when known, and taken_zone how the instant was found: 'offset' (the
-- file recorded one), 'utc' (recorded in UTC, as video containers do) or 'local-unknown'
-- (a camera's local time with no zone: the instant reads it as UTC and is uncertain by
-- up to 14 hours).
ALTER TABLE items ADD COLUMN taken_utc TEXT;
ALTER TABLE items ADD COLUMN taken_local TEXT;
ALTER TABLE items ADD COLUMN taken_offset TEXT;
ALTER TABLE items ADD COLUMN taken_zone TEXT CHECK (taken_zone IN ('offset', 'utc', 'local-unknown'));
UPDATE items SET taken_local = substr(taken_time, 1, 19),
                 taken_offset = CASE WHEN length(taken_time) = 25 THEN substr(taken_time, 20) END,
                 taken_zone = CASE WHEN length(taken_time) = 25 THEN 'offset' ELSE 'local-unknown' END,
                 taken_utc = strftime('%Y-%m-%dT%H:%M:%S', taken_time) || '.000000Z'
 WHERE taken_time IS NOT NULL AND kind = 'image' AND strftime('%s', taken_time) IS NOT NULL;
UPDATE items SET taken_offset = '+00:00', taken_zone = 'utc',
                 taken_utc = strftime('%Y-%m-%dT%H:%M:%S', taken_time) || '.000000Z'
 WHERE taken_time IS NOT NULL AND kind = 'video' AND strftime('%s', taken_time) IS NOT NULL;

-- What a run has to say about itself (e.g. that access times could not be preserved).
ALTER TABLE ingest_runs ADD COLUMN notes TEXT;
