"""forensics.browse: filtered/sorted id lists, batched rows and facets over a real case."""
from __future__ import annotations

from pathlib import Path

import pytest

from forensics import browse
from forensics.browse import ItemFilter
from forensics.case import Case


def _insert(case: Case, rows: list[dict]) -> list[int]:
    ids = []
    with case.store.write() as w:
        w.execute("INSERT OR IGNORE INTO sources (path, path_raw, added_utc, added_by) VALUES ('/ev', X'2F6576', 'now', 'x')")
        sid = w.execute("SELECT id FROM sources WHERE path = '/ev'").fetchone()[0]
        for r in rows:
            base = {"kind": "image", "source_id": sid, "parent_id": None, "relpath": "a.jpg", "size": 1,
                    "ingested_utc": "2024-01-01T00:00:00Z", "status": "ok", "flags": ""}
            base.update(r)
            if base["parent_id"] is None:
                base["relpath_raw"] = base["relpath"].encode()
            cols = ",".join(base)
            cur = w.execute(f"INSERT INTO items ({cols}) VALUES ({','.join('?' * len(base))})", list(base.values()))
            ids.append(cur.lastrowid)
    return ids


@pytest.fixture()
def case(tmp_path: Path) -> Case:
    c = Case.create(tmp_path / "case", name="Browse", number="B-1", examiner="Tester", authority="Warrant 1")
    yield c
    c.close()


@pytest.fixture()
def items(case: Case) -> list[int]:
    return _insert(case, [
        {"relpath": "b/holiday.jpg", "size": 300, "taken_time": "2021-06-01T10:00:00", "camera_model": "Pixel 4",
         "gps_lat": 51.5, "gps_lon": -0.1},
        {"relpath": "a/scan.png", "size": 100, "mtime_utc": "2019-01-01T00:00:00Z", "category": 2},
        {"relpath": "c/clip.mp4", "kind": "video", "size": 5000, "taken_time": "2022-03-03T03:03:03"},
        {"relpath": "d/broken.jpg", "size": 10, "status": "error", "camera_model": "Pixel 4"},
        {"relpath": "e/notes.txt", "kind": "other", "size": 7},
    ])


def test_default_filter_shows_images_and_videos_but_not_frames(case: Case, items: list[int]) -> None:
    frame = _insert(case, [{"kind": "frame", "parent_id": items[2], "relpath": "c/clip.mp4#t=1", "frame_index": 30}])
    ids = browse.item_ids(case.ctx)
    assert ids == items[:4]
    assert frame[0] not in ids
    assert browse.count(case.ctx) == 4
    assert browse.item_ids(case.ctx, ItemFilter(kinds=("video",))) == [items[2]]


def test_sorting(case: Case, items: list[int]) -> None:
    hol, scan, clip, broken, _ = items
    assert browse.item_ids(case.ctx, sort="size") == [broken, scan, hol, clip]
    assert browse.item_ids(case.ctx, sort="size", descending=True) == [clip, hol, scan, broken]
    assert browse.item_ids(case.ctx, sort="path") == [scan, hol, clip, broken]
    # Date taken, else modified; items with neither come last.
    assert browse.item_ids(case.ctx, sort="date") == [scan, hol, clip, broken]
    assert browse.item_ids(case.ctx, sort="category")[0] == scan
    with pytest.raises(ValueError):
        browse.item_ids(case.ctx, sort="colour")


def test_filters(case: Case, items: list[int]) -> None:
    hol, scan, clip, broken, _ = items
    assert browse.item_ids(case.ctx, ItemFilter(category=2)) == [scan]
    assert browse.item_ids(case.ctx, ItemFilter(category=browse.UNCATEGORISED)) == [hol, clip, broken]
    assert browse.item_ids(case.ctx, ItemFilter(camera_model="Pixel 4")) == [hol, broken]
    assert browse.item_ids(case.ctx, ItemFilter(has_gps=True)) == [hol]
    assert browse.item_ids(case.ctx, ItemFilter(errors=True)) == [broken]
    assert browse.item_ids(case.ctx, ItemFilter(errors=False)) == [hol, scan, clip]
    assert browse.item_ids(case.ctx, ItemFilter(date_from="2021-01-01", date_to="2021-12-31")) == [hol]
    assert browse.item_ids(case.ctx, ItemFilter(date_to="2021-06-01")) == [hol, scan]
    assert browse.item_ids(case.ctx, ItemFilter(text="clip")) == [clip]
    # LIKE wildcards in the search text are literal.
    assert browse.item_ids(case.ctx, ItemFilter(text="%")) == []
    case.tag_items([clip], add_tags=["beach"], bookmarked=True)
    assert browse.item_ids(case.ctx, ItemFilter(tag="beach")) == [clip]
    assert browse.item_ids(case.ctx, ItemFilter(bookmarked=True)) == [clip]
    assert browse.item_ids(case.ctx, ItemFilter(tag="nothing")) == []
    assert browse.item_ids(case.ctx, ItemFilter(ids=(clip, scan, items[4]))) == [scan, clip]
    assert browse.item_ids(case.ctx, ItemFilter(ids=())) == []


def test_item_rows_keep_order_and_skip_missing(case: Case, items: list[int]) -> None:
    hol, scan, clip, broken, _ = items
    case.tag_items([hol], add_tags=["b", "a"], category=1)
    rows = browse.item_rows(case.ctx, [broken, hol, 99999, scan])
    assert [r["id"] for r in rows] == [broken, hol, scan]
    assert rows[0]["has_errors"] is True
    assert rows[1]["tags"] == ["a", "b"]
    assert rows[1]["category"] == 1
    assert rows[1]["has_gps"] is True
    assert rows[1]["name"] == "holiday.jpg"
    assert browse.item_rows(case.ctx, []) == []


def test_errors_recorded_against_an_item_count(case: Case, items: list[int]) -> None:
    with case.store.write() as w:
        w.execute("INSERT INTO item_errors (item_id, stage, message, time_utc) VALUES (?, 'exif', 'bad', 'now')", (items[0],))
    assert items[0] in browse.item_ids(case.ctx, ItemFilter(errors=True))
    assert browse.item_rows(case.ctx, [items[0]])[0]["has_errors"] is True


def test_facets(case: Case, items: list[int]) -> None:
    f = browse.facets(case.ctx)
    assert f["kinds"] == {"image": 3, "video": 1, "other": 1}
    assert {c["id"]: c["count"] for c in f["categories"]}[2] == 1
    assert f["camera_models"] == [{"model": "Pixel 4", "count": 2}]
    assert f["date_range"][0].startswith("2019")
    assert f["has_gps"] == 1
    assert f["uncategorised"] == 4


def test_many_items_batch(case: Case) -> None:
    ids = _insert(case, [{"relpath": f"x/{n:05d}.jpg"} for n in range(7000)])
    rows = browse.item_rows(case.ctx, ids[::-1])
    assert len(rows) == 7000 and rows[0]["id"] == ids[-1]


def _face(w, item_id: int) -> None:
    w.execute("INSERT INTO faces (item_id, box_top, box_right, box_bottom, box_left, det_score, size, sharpness,"
              " embedding, model, created_utc) VALUES (?, 1, 2, 3, 0, 1.0, 2, 1.0, X'00', 'm', 'now')", (item_id,))


def test_faces_hashsets_and_copy_groups(case: Case, items: list[int]) -> None:
    hol, scan, clip, broken, _ = items
    frame = _insert(case, [{"kind": "frame", "parent_id": clip, "relpath": "c/clip.mp4#t=1", "frame_index": 3}])[0]
    with case.store.write() as w:
        _face(w, hol)
        _face(w, frame)  # a face in a video's frame makes the video "has faces"
        w.execute("INSERT INTO hash_sets (id, name, kind, format, source_path, source_sha256, imported_utc, imported_by)"
                  " VALUES (1, 'good', 'known-good', 'hashlist', '/x', 'aa', 'now', 'x'),"
                  " (2, 'bad', 'known-bad', 'hashlist', '/y', 'bb', 'now', 'x')")
        w.execute("INSERT INTO hash_set_entries (id, set_id, md5) VALUES (1, 1, 'a'), (2, 2, 'b')")
        w.execute("INSERT INTO hash_matches (item_id, set_id, entry_id, hash) VALUES (?, 1, 1, 'md5'), (?, 2, 2, 'md5')",
                  (scan, broken))
        g = w.execute("INSERT INTO copy_groups (kind, representative_id, size, created_utc) VALUES ('binary', ?, 2, 'now')",
                      (hol,)).lastrowid
        w.execute("INSERT INTO copy_members (item_id, group_id, identical) VALUES (?, ?, 1), (?, ?, 1)", (hol, g, broken, g))
    assert browse.item_ids(case.ctx, ItemFilter(has_faces=True)) == [hol, clip]
    assert browse.item_ids(case.ctx, ItemFilter(has_faces=False)) == [scan, broken]
    assert browse.item_ids(case.ctx, ItemFilter(hashset_match=True)) == [scan, broken]
    assert browse.item_ids(case.ctx, ItemFilter(hide_known_good=True)) == [hol, clip, broken]
    assert browse.item_ids(case.ctx, ItemFilter(collapse_copies=True)) == [hol, scan, clip]
    rows = {r["id"]: r for r in browse.item_rows(case.ctx, [hol, clip, broken])}
    assert rows[hol]["faces"] == 1 and rows[clip]["faces"] == 1
    assert rows[broken]["hash_matches"] == 1 and rows[broken]["copy_group"] == g
    f = browse.facets(case.ctx)
    assert f["faces"] == 2 and f["hashset_matches"] == 2 and f["copy_groups"] == 1
    assert [(s["name"], s["kind"], s["items"]) for s in f["hash_sets"]] == [("bad", "known-bad", 1),
                                                                            ("good", "known-good", 1)]


def test_filter_by_one_hash_set(case: Case, items: list[int]) -> None:
    hol, scan, clip, broken, _ = items
    with case.store.write() as w:
        w.execute("INSERT INTO hash_sets (id, name, kind, format, source_path, source_sha256, imported_utc, imported_by)"
                  " VALUES (1, 'good', 'known-good', 'hashlist', '/x', 'aa', 'now', 'x'),"
                  " (2, 'bad', 'known-bad', 'hashlist', '/y', 'bb', 'now', 'x'),"
                  " (3, 'empty', 'known-bad', 'hashlist', '/z', 'cc', 'now', 'x')")
        w.execute("INSERT INTO hash_set_entries (id, set_id, md5, sha1) VALUES (1, 1, 'a', NULL), (2, 2, 'b', NULL),"
                  " (3, 2, NULL, 'c')")
        # `broken` matches set 2 twice (md5 and sha1 entries), `scan` matches both sets.
        w.execute("INSERT INTO hash_matches (item_id, set_id, entry_id, hash) VALUES (?, 1, 1, 'md5'),"
                  " (?, 2, 2, 'md5'), (?, 2, 3, 'sha1'), (?, 2, 2, 'md5')", (scan, broken, broken, scan))
    assert browse.item_ids(case.ctx, ItemFilter(hash_set=2)) == [scan, broken]
    assert browse.item_ids(case.ctx, ItemFilter(hash_set=1)) == [scan]
    assert browse.item_ids(case.ctx, ItemFilter(hash_set=3)) == []
    assert browse.item_ids(case.ctx, ItemFilter(hash_set=2, category=2)) == [scan]
    assert browse.count(case.ctx, ItemFilter(hash_set=2)) == 2
    assert {s["name"]: s["items"] for s in browse.facets(case.ctx)["hash_sets"]} == {"bad": 2, "good": 1, "empty": 0}


def test_item_exif(case: Case, items: list[int]) -> None:
    with case.store.write() as w:
        w.execute("UPDATE items SET exif_json = ? WHERE id = ?", ('{"Image Model": "Pixel 4"}', items[0]))
    assert browse.item_exif(case.ctx, items[0]) == {"Image Model": "Pixel 4"}
    assert browse.item_exif(case.ctx, items[1]) == {}


def test_a_file_added_as_its_own_source_is_named_after_it(case: Case) -> None:
    with case.store.write() as w:
        w.execute("INSERT INTO sources (path, path_raw, added_utc, added_by) VALUES ('/ev/clip.mp4', X'00', 'now', 'x')")
        sid = w.execute("SELECT id FROM sources WHERE path = '/ev/clip.mp4'").fetchone()[0]
        w.execute("INSERT INTO items (kind, source_id, relpath, relpath_raw, ingested_utc) VALUES ('video', ?, '', X'', 'now')", (sid,))
    assert [r["name"] for r in browse.item_rows(case.ctx, browse.item_ids(case.ctx))] == ["clip.mp4"]
