-- Forensic disk images (E01/Ex01, raw dd and split raw) as evidence sources, read through
-- The Sleuth Kit: the image's acquisition record and media hashes, errors found on the
-- source (unreadable image, unknown file system), and where each item lives in the image.

ALTER TABLE sources ADD COLUMN kind TEXT NOT NULL DEFAULT 'folder';  -- folder | image

CREATE TABLE source_images (
    source_id    INTEGER PRIMARY KEY REFERENCES sources(id),
    format       TEXT NOT NULL,          -- ewf | raw
    segments     TEXT NOT NULL,          -- JSON list of segment file paths, in order
    media_size   INTEGER,                -- bytes of the acquired media
    stored_md5   TEXT,                   -- acquisition hashes recorded in the image (EWF)
    stored_sha1  TEXT,
    acquisition  TEXT,                   -- JSON: EWF header values (case, examiner, dates, tool)
    media_md5    TEXT,                   -- hashes of the whole media, re-computed by this tool
    media_sha1   TEXT,
    media_sha256 TEXT,
    hashed_utc   TEXT,
    hash_status  TEXT,                   -- verified | mismatch | no_stored_hash | unreadable
    volumes      TEXT                    -- JSON: partitions and file systems found
);

CREATE TABLE source_errors (
    id        INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    stage     TEXT NOT NULL,             -- image, volume, filesystem, hash
    message   TEXT NOT NULL,
    time_utc  TEXT NOT NULL
);
CREATE INDEX source_errors_source ON source_errors(source_id);

-- The evidence reference of an item that lives inside a disk image: enough to read its
-- bytes through TSK again (verify, faces, copies) without any host path.
CREATE TABLE item_image_refs (
    item_id     INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    partition   TEXT NOT NULL,           -- 'partition 2 (NTFS)' or 'file system (FAT16)'
    part_offset INTEGER NOT NULL,        -- byte offset of the file system in the media
    fs_type     TEXT NOT NULL,
    inode       INTEGER NOT NULL,        -- inode / MFT entry / FAT directory entry address
    attr_type   INTEGER,                 -- NTFS attribute type and id (alternate data streams)
    attr_id     INTEGER,
    allocated   INTEGER NOT NULL,        -- 0 = deleted (unallocated name or metadata)
    crtime_utc  TEXT                     -- creation time where the file system records one
);
