-- Video faces followed between described detections (issue 10): a followed face is
-- described (embedded) only on some of its detections; the others are not stored as
-- faces, but the span over which it was detected is, so a track starts and ends where the
-- face was seen. NULL for photos and for faces analysed before this migration.
ALTER TABLE faces ADD COLUMN seen_from REAL;
ALTER TABLE faces ADD COLUMN seen_to REAL;
