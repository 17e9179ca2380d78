"""Faces: detection and embedding (detect), the ingest hooks (pipeline), video tracks
(tracks), the search index (index), clustering (cluster), persons and analyst decisions
(persons), read views (views) and the `FaceService` front end (service, `case.faces`).
Heavy libraries (dlib, face_recognition, hnswlib, av) are imported inside functions."""
