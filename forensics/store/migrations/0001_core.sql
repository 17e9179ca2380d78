-- Core case store: case record, evidence sources, items (files and video frames),
-- per-item errors, categories/tags/notes, the audit hash chain and ingest runs.
CREATE TABLE case_info (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    name         TEXT NOT NULL,
    number       TEXT NOT NULL,
    examiner     TEXT NOT NULL,
    authority    TEXT NOT NULL CHECK (length(trim(authority)) > 0),
    created_utc  TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    description  TEXT
);

CREATE TABLE sources (
    id        INTEGER PRIMARY KEY,
    path      TEXT NOT NULL,            -- display form (undecodable bytes as \xNN)
    path_raw  BLOB NOT NULL UNIQUE,     -- exact absolute path bytes
    label     TEXT,
    added_utc TEXT NOT NULL,
    added_by  TEXT NOT NULL
);

CREATE TABLE items (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('image', 'video', 'frame', 'other')),
    source_id     INTEGER NOT NULL REFERENCES sources(id),
    parent_id     INTEGER REFERENCES items(id) ON DELETE CASCADE,  -- frames: their video
    relpath       TEXT NOT NULL,        -- relative to the source; display form
    relpath_raw   BLOB,                 -- exact bytes on disk; NULL for frames
    size          INTEGER,
    mtime_utc     TEXT,
    ctime_utc     TEXT,
    atime_utc     TEXT,
    md5           TEXT,
    sha1          TEXT,
    sha256        TEXT,
    mime          TEXT,
    link_target   TEXT,                 -- symlinks are recorded, never followed
    width         INTEGER,
    height        INTEGER,
    orientation   INTEGER,
    duration      REAL,                 -- video seconds
    codec         TEXT,
    fps           REAL,
    frame_count   INTEGER,
    frame_time    REAL,                 -- frames: seconds from the start of the video
    frame_index   INTEGER,              -- frames: decoded frame number
    taken_time    TEXT,                 -- EXIF DateTimeOriginal as recorded (camera local time; offset appended when the file has one) or video creation time
    camera_make   TEXT,
    camera_model  TEXT,
    gps_lat       REAL,
    gps_lon       REAL,
    gps_alt       REAL,
    exif_json     TEXT,
    phash         INTEGER,              -- signed int64 of the 64-bit hash
    dhash         INTEGER,
    blank         INTEGER NOT NULL DEFAULT 0,
    thumb         TEXT,                 -- path inside the case thumbnail cache
    flags         TEXT NOT NULL DEFAULT '',  -- space separated: truncated ext_mismatch animated ...
    status        TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'error')),
    ingested_utc  TEXT NOT NULL,
    category      INTEGER,
    bookmarked    INTEGER NOT NULL DEFAULT 0,
    note          TEXT
);
CREATE UNIQUE INDEX items_file ON items(source_id, relpath_raw) WHERE parent_id IS NULL;
CREATE UNIQUE INDEX items_frame ON items(parent_id, frame_index) WHERE parent_id IS NOT NULL;
CREATE INDEX items_parent ON items(parent_id);
CREATE INDEX items_kind ON items(kind);
CREATE INDEX items_md5 ON items(md5);
CREATE INDEX items_sha1 ON items(sha1);
CREATE INDEX items_sha256 ON items(sha256);
CREATE INDEX items_category ON items(category);

CREATE TABLE item_errors (
    id       INTEGER PRIMARY KEY,
    item_id  INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    stage    TEXT NOT NULL,             -- read, type, image, exif, video, faces ...
    message  TEXT NOT NULL,
    time_utc TEXT NOT NULL
);
CREATE INDEX item_errors_item ON item_errors(item_id);

-- VICS numeric category scheme; names are configurable per case.
CREATE TABLE categories (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);
INSERT INTO categories (id, name) VALUES
    (0, 'Non-pertinent'),
    (1, 'Child abuse material'),
    (2, 'Child exploitive / age difficult'),
    (3, 'CGI / animation'),
    (4, 'Comparison images'),
    (5, 'Category 5'),
    (6, 'Category 6'),
    (7, 'Category 7'),
    (8, 'Category 8'),
    (9, 'Category 9');

CREATE TABLE tags (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE item_tags (
    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    tag_id  INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (item_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX item_tags_tag ON item_tags(tag_id);

CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    time_utc   TEXT NOT NULL,
    examiner   TEXT NOT NULL,
    action     TEXT NOT NULL,
    params     TEXT NOT NULL,           -- canonical JSON
    result     TEXT NOT NULL,           -- canonical JSON
    prev_hash  TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);

CREATE TABLE ingest_runs (
    id           INTEGER PRIMARY KEY,
    started_utc  TEXT NOT NULL,
    finished_utc TEXT,
    examiner     TEXT NOT NULL,
    sources      TEXT NOT NULL,         -- JSON list of source ids
    options      TEXT NOT NULL,         -- JSON
    status       TEXT NOT NULL DEFAULT 'running',
    files_done   INTEGER NOT NULL DEFAULT 0,
    files_failed INTEGER NOT NULL DEFAULT 0
);
