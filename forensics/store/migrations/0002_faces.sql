-- Faces: detections with embeddings, video face tracks, persons (identities), analyst
-- decisions on face-person links, and which items have been analysed (so analysis resumes).

-- A person is either an automatic cluster (kind 'cluster', unnamed, replaced by each
-- clustering run) or an identity an analyst created or named (kind 'person', never
-- deleted or changed by the clusterer).
CREATE TABLE persons (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('cluster', 'person')),
    name        TEXT,
    created_utc TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    note        TEXT
);

-- A face track: one person's detections over consecutive sampled frames of a video.
CREATE TABLE face_tracks (
    id           INTEGER PRIMARY KEY,
    video_id     INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    start_time   REAL NOT NULL,          -- seconds from the start of the video
    end_time     REAL NOT NULL,
    detections   INTEGER NOT NULL,
    best_face_id INTEGER                 -- the sharpest, largest detection (no FK: faces refer here)
);
CREATE INDEX face_tracks_video ON face_tracks(video_id);

CREATE TABLE faces (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    box_top     INTEGER NOT NULL,        -- box in the item's oriented full-resolution pixels
    box_right   INTEGER NOT NULL,
    box_bottom  INTEGER NOT NULL,
    box_left    INTEGER NOT NULL,
    det_score   REAL NOT NULL,           -- dlib HOG detector score
    size        INTEGER NOT NULL,        -- shorter side of the box in pixels
    sharpness   REAL NOT NULL,           -- variance of the Laplacian of the face at 64x64
    low_quality INTEGER NOT NULL DEFAULT 0,
    embedding   BLOB NOT NULL,           -- 128 float32, little endian
    model       TEXT NOT NULL,           -- model name and version
    thumb       TEXT,                    -- path inside the case thumbnail cache
    track_id    INTEGER REFERENCES face_tracks(id) ON DELETE SET NULL,
    -- 1 = this embedding is in the search index: every photo face, and a track's few
    -- best detections (not one per frame).
    indexed     INTEGER NOT NULL DEFAULT 1,
    person_id   INTEGER REFERENCES persons(id) ON DELETE SET NULL,
    -- how the face belongs to person_id: 'confirmed' by an analyst, 'suggested' by the
    -- clusterer for an analyst's person, or 'cluster' (member of an automatic cluster)
    link        TEXT CHECK (link IN ('confirmed', 'suggested', 'cluster')),
    created_utc TEXT NOT NULL
);
CREATE INDEX faces_item ON faces(item_id);
CREATE INDEX faces_track ON faces(track_id);
CREATE INDEX faces_person ON faces(person_id);
CREATE INDEX faces_indexed ON faces(indexed, id);

-- An analyst said "this face is not this person" (removed it, or rejected a suggestion).
-- The clusterer never puts the face back with that person.
CREATE TABLE face_rejections (
    face_id     INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
    person_id   INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    decided_utc TEXT NOT NULL,
    decided_by  TEXT NOT NULL,
    PRIMARY KEY (face_id, person_id)
) WITHOUT ROWID;

-- Items (images and sampled frames) whose faces have been computed, with how many were
-- found; an item listed here is skipped by `faces analyze`, so it resumes after a kill.
CREATE TABLE face_analysis (
    item_id     INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    faces       INTEGER NOT NULL,
    model       TEXT NOT NULL,
    analysed_utc TEXT NOT NULL,
    error       TEXT
);
