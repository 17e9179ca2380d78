-- Copy groups (binary and visual copies) and known-hash sets (NSRL, Project VIC VICS, hash lists).

-- One group per set of copies; an item belongs to at most one group. A group whose members
-- all share one SHA-256 is 'binary'; one that needed perceptual hashes to join is 'visual'.
CREATE TABLE copy_groups (
    id                INTEGER PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('binary', 'visual')),
    representative_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    size              INTEGER NOT NULL,
    created_utc       TEXT NOT NULL
);

CREATE TABLE copy_members (
    item_id    INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    group_id   INTEGER NOT NULL REFERENCES copy_groups(id) ON DELETE CASCADE,
    identical  INTEGER NOT NULL DEFAULT 0,  -- same SHA-256 as the representative
    d_phash    INTEGER,                     -- Hamming distances to the representative
    d_dhash    INTEGER
);
CREATE INDEX copy_members_group ON copy_members(group_id);

-- 256-bit border-trimmed pHash used to confirm visual-copy candidates (forensics.copies.verify);
-- computed on first use. NULL = the item's pixels could not be read again.
CREATE TABLE copy_fine_hashes (
    item_id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    fine    BLOB
);

-- Recorded state of the last grouping run, so callers can tell whether it is stale.
CREATE TABLE copy_runs (
    id          INTEGER PRIMARY KEY,
    started_utc TEXT NOT NULL,
    items       INTEGER NOT NULL,           -- item count when grouping ran
    max_item_id INTEGER NOT NULL,
    params      TEXT NOT NULL,              -- JSON: thresholds, index parameters
    result      TEXT NOT NULL               -- JSON summary
);

CREATE TABLE hash_sets (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL CHECK (kind IN ('known-bad', 'known-good')),
    category     INTEGER,                   -- default category for known-bad entries without one
    format       TEXT NOT NULL,             -- hashlist, nsrl-rds3, vics-1.3, vics-2.0
    source_path  TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    source_info  TEXT,                      -- JSON: VICS case record, NSRL version, header
    entries      INTEGER NOT NULL DEFAULT 0,
    rejected     INTEGER NOT NULL DEFAULT 0,
    imported_utc TEXT NOT NULL,
    imported_by  TEXT NOT NULL,
    matched_max_item_id INTEGER NOT NULL DEFAULT 0,  -- items up to this id have been matched
    matched_items INTEGER NOT NULL DEFAULT 0         -- item count when last matched
);

-- Hashes are lower-case hex, as in items.md5/sha1/sha256, so matching is an indexed equality.
CREATE TABLE hash_set_entries (
    id                INTEGER PRIMARY KEY,
    set_id            INTEGER NOT NULL REFERENCES hash_sets(id) ON DELETE CASCADE,
    md5               TEXT,
    sha1              TEXT,
    sha256            TEXT,
    category          INTEGER,
    series            TEXT,
    victim_identified INTEGER,              -- 0/1/NULL
    phash             INTEGER,              -- signed int64, from AlternativeHashes (pHash)
    alt_hashes        TEXT,                 -- JSON list of {"HashName", "HashValue"} as given
    extra             TEXT                  -- JSON: other VICS fields (tags, size, files, EXIF...)
);
CREATE INDEX hash_set_entries_md5 ON hash_set_entries(md5) WHERE md5 IS NOT NULL;
CREATE INDEX hash_set_entries_sha1 ON hash_set_entries(sha1) WHERE sha1 IS NOT NULL;
CREATE INDEX hash_set_entries_sha256 ON hash_set_entries(sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX hash_set_entries_set ON hash_set_entries(set_id);
CREATE INDEX hash_set_entries_phash ON hash_set_entries(phash) WHERE phash IS NOT NULL;

CREATE TABLE hash_set_errors (
    id      INTEGER PRIMARY KEY,
    set_id  INTEGER NOT NULL REFERENCES hash_sets(id) ON DELETE CASCADE,
    line    INTEGER,                        -- line or record number in the source
    message TEXT NOT NULL
);

CREATE TABLE hash_matches (
    item_id  INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    set_id   INTEGER NOT NULL REFERENCES hash_sets(id) ON DELETE CASCADE,
    entry_id INTEGER NOT NULL REFERENCES hash_set_entries(id) ON DELETE CASCADE,
    hash     TEXT NOT NULL CHECK (hash IN ('md5', 'sha1', 'sha256', 'phash')),
    distance INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (item_id, entry_id, hash)
) WITHOUT ROWID;
CREATE INDEX hash_matches_set ON hash_matches(set_id);
