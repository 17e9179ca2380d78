"""The case context under the services: record, paths, audit appends, clock, catalogue,
and the one evidence opener (read-only, no link following, SHA-256 checked on request)."""
from __future__ import annotations

import os
from datetime import timezone

import pytest

from forensics import audit
from forensics.clock import parse_time, utc_from_timestamp, utc_now
from forensics.evidence import EvidenceChanged, EvidenceError, open_readonly
from forensics.ingest.pipeline import IngestOptions


@pytest.fixture
def ingested(new_case, tmp_path):
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "a.bin").write_bytes(b"evidence bytes " * 1000)
    (ev / "b.txt").write_text("note\n")
    os.symlink("a.bin", ev / "link.bin")
    new_case.ingest([ev], IngestOptions(workers=1, faces=False))
    ids = {os.path.basename(i["path"]): i["id"] for i in new_case.items()}
    return new_case, ev, ids


def test_record_paths_and_audit(new_case):
    ctx = new_case.ctx
    assert ctx.record.as_dict() == new_case.info and ctx.record.authority == "Warrant 2026/123 (test)"
    with pytest.raises(TypeError):
        ctx.record.data["authority"] = "changed"  # the record is frozen
    assert ctx.paths.thumbs == new_case.path / "thumbs" and ctx.paths.db == new_case.path / "case.sqlite"
    with ctx.store.write() as w:
        e = ctx.audit(w, "test.inside", {"a": 1}, {"b": 2})
    own = ctx.log("test.own", {}, {})
    assert own.seq == e.seq + 1 and own.examiner == ctx.examiner == "Tester"
    assert audit.verify(ctx.store.read).ok


def test_clock_and_parser():
    now = utc_now()
    assert now.endswith("Z") and parse_time(now).tzinfo is not None
    assert parse_time(utc_from_timestamp(0)).astimezone(timezone.utc).year == 1970
    assert parse_time("2021:05:01".replace(":", "-")).tzinfo is None  # camera local time stays naive
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_catalogue_paths(ingested):
    case, ev, ids = ingested
    cat = case.ctx.catalogue
    assert cat.item_file(ids["a.bin"]) == os.fsencode(ev / "a.bin")
    assert cat.display_path_of(ids["b.txt"]) == str(ev / "b.txt") == cat.item(ids["b.txt"])["path"]
    assert [i["id"] for i in cat.items(ids=[ids["b.txt"], ids["a.bin"], 99999])] == sorted([ids["a.bin"], ids["b.txt"]])
    assert cat.display_path_of(99999) is None


def test_open_item_reads_and_verifies(ingested):
    case, ev, ids = ingested
    evidence = case.ctx.evidence
    with evidence.open_item(ids["a.bin"], verify=True) as f:
        assert f.read() == (ev / "a.bin").read_bytes()
    assert evidence.read_item(ids["b.txt"]) == b"note\n"
    # Same size, different bytes: the hash catches it, and nothing is handed over.
    (ev / "b.txt").write_text("NOTE\n")
    with pytest.raises(EvidenceChanged, match="SHA-256"):
        evidence.read_item(ids["b.txt"])
    assert evidence.read_item(ids["b.txt"], verify=False) == b"NOTE\n"
    (ev / "a.bin").write_bytes(b"short")
    with pytest.raises(EvidenceChanged, match="size"):
        evidence.open_item(ids["a.bin"], verify=True)
    (ev / "a.bin").unlink()
    with pytest.raises(EvidenceError, match="cannot open"):
        evidence.open_item(ids["a.bin"])
    with pytest.raises(EvidenceError, match="no item"):
        evidence.open_item(99999)


def test_open_item_never_follows_a_link_that_was_not_one(ingested):
    case, ev, ids = ingested
    # A file catalogued as a regular file, replaced by a link to other data.
    (ev / "b.txt").unlink()
    os.symlink("a.bin", ev / "b.txt")
    with pytest.raises(EvidenceError):
        case.ctx.evidence.open_item(ids["b.txt"])
    # The item catalogued as a link has no content hash: it can be opened, not verified.
    assert case.ctx.evidence.read_item(ids["link.bin"], verify=False) == (ev / "a.bin").read_bytes()
    with pytest.raises(EvidenceError, match="no SHA-256"):
        case.ctx.evidence.open_item(ids["link.bin"], verify=True)


def test_open_readonly_is_read_only(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"x")
    fd, _refused = open_readonly(os.fsencode(p))
    try:
        with pytest.raises(OSError):
            os.write(fd, b"y")
    finally:
        os.close(fd)
    assert p.read_bytes() == b"x"


def test_item_form_changes_and_oriented_size():
    from forensics.catalogue import item_changes, oriented_size

    item = {"id": 1, "category": 3, "tags": ["beach", "old"], "width": 400, "height": 300, "orientation": 6}
    ch = item_changes(item, category=None, tags=[" beach", "new ", ""], note="n", bookmarked=True)
    assert ch == {"category": None, "clear_category": True, "add_tags": ["new"], "remove_tags": ["old"],
                  "note": "n", "bookmarked": True}
    assert item_changes(dict(item, category=None), category=None, tags=[], note="", bookmarked=False)["clear_category"] is False
    assert oriented_size(item) == (300, 400) and oriented_size(dict(item, orientation=1)) == (400, 300)
    assert oriented_size({"width": None, "height": 5}) is None


def test_face_results_narrow_by_threshold():
    from forensics.faces.service import within_threshold

    ms = [{"face_id": 1, "distance": 0.2}, {"face_id": 2, "distance": 0.6}, {"face_id": 3, "distance": 0.75}]
    assert [m["face_id"] for m in within_threshold(ms, 0.6)] == [1, 2]
    assert within_threshold(ms, 0.1) == []


def test_query_helpers(new_case):
    from forensics.store.queries import chunks, paged, select_in, table_signature

    assert [len(c) for c in chunks(range(2000))] == [900, 900, 200]
    with new_case.store.write() as w:
        sid = w.execute("INSERT INTO sources (path, path_raw, added_utc, added_by) VALUES ('/e', x'2f65', 't', 'x')").lastrowid
        w.executemany("INSERT INTO items (kind, source_id, relpath, relpath_raw, status, ingested_utc, flags)"
                      " VALUES ('other', ?, ?, ?, 'ok', 't', '')", [(sid, f"f{i}", f"f{i}".encode()) for i in range(1200)])
    conn = new_case.store.read
    assert table_signature(conn) == (1200, 1200)
    got = [r[0] for r in select_in(conn, "SELECT id FROM items WHERE id IN ({ids})", range(1, 1201))]
    assert sorted(got) == list(range(1, 1201))
    assert [r[0] for r in paged(conn, "SELECT id FROM items WHERE id > ? ORDER BY id LIMIT ?", page=7)] == list(range(1, 1201))


def test_refused_noatime_falls_back_and_is_reported_once(new_case, tmp_path, monkeypatch):
    import forensics.evidence as ev_mod

    if not getattr(os, "O_NOATIME", 0):
        pytest.skip("this OS has no O_NOATIME")
    real_open = os.open

    def refusing_open(path, flags, *a, **kw):
        # What the kernel does for a file the examiner does not own.
        if flags & os.O_NOATIME:
            raise PermissionError(1, "Operation not permitted")
        return real_open(path, flags, *a, **kw)

    monkeypatch.setattr(ev_mod.os, "open", refusing_open)  # also reached through folder descriptors (dir_fd=)
    ev = tmp_path / "ev"
    ev.mkdir()
    for n in range(3):
        (ev / f"f{n}.txt").write_text(f"file {n}\n")
    new_case.ingest([ev], IngestOptions(workers=1, faces=False))
    entry = new_case.audit_entries("ingest")[-1]
    assert entry.result["noatime_refused"] == 3 and entry.result["added"] == 3
    evidence = new_case.ctx.evidence
    assert evidence.noatime_note() is None
    first = new_case.items()[0]["id"]
    assert evidence.read_item(first) == b"file 0\n"  # the open still succeeds, without O_NOATIME
    assert evidence.noatime_refused == 1 and "O_NOATIME" in evidence.noatime_note()


def test_a_frame_opens_its_video(ingested):
    case, ev, ids = ingested
    video = ids["a.bin"]  # stands in for a video: frames refer to their parent's file
    with case.store.write() as w:
        frame = w.execute("INSERT INTO items (kind, source_id, parent_id, relpath, frame_index, frame_time, status,"
                          " ingested_utc, flags) SELECT 'frame', source_id, id, relpath, 0, 0.0, 'ok', 't', ''"
                          " FROM items WHERE id = ?", (video,)).lastrowid
    ref = case.ctx.evidence.ref(frame)
    assert ref.file_item_id == video and ref.path == os.fsencode(ev / "a.bin") and ref.sha256
    assert case.ctx.evidence.read_item(frame) == (ev / "a.bin").read_bytes()
