-- Probe hashes of each image (forensics.hashing.windows): pHash + dHash of the border-trimmed
-- picture, of eight one- and two-side windows, of the middle upright and turned +/-7 degrees,
-- and of the seven other orientations; 19 slots x 2 little-endian uint64 = 304 bytes.
-- Written at ingest; items ingested before this migration have none and are matched by
-- their own hashes only until re-ingested (search falls back, grouping too).
CREATE TABLE item_probes (
    item_id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    hashes  BLOB NOT NULL
);

-- Fine hashes cached before now were trimmed by the old top-left-pixel rule; border
-- trimming now looks at every side (forensics.hashing.borders), so they are recomputed.
DELETE FROM copy_fine_hashes;
