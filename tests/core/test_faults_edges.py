"""Edge cases that used to give wrong answers (issue 12), each reproduced as reported."""
from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from forensics.case import Case
from forensics.ingest.records import IngestOptions
from forensics.media import sniff


def test_empty_files_never_form_a_copy_group(new_case: Case, tmp_path: Path) -> None:
    ev = tmp_path / "ev"
    ev.mkdir()
    for i in range(300):
        (ev / f"empty{i}").write_bytes(b"")
    (ev / "a").write_bytes(b"same")
    (ev / "b").write_bytes(b"same")
    new_case.ingest([ev], IngestOptions(workers=1))
    new_case.copies.group()
    groups = new_case.copies.groups()
    assert [sorted(Path(m["path"]).name for m in g["members"]) for g in groups] == [["a", "b"]]


def test_non_utf8_link_target_verifies_unchanged(new_case: Case, tmp_path: Path) -> None:
    ev = tmp_path / "ev"
    ev.mkdir()
    os.symlink(b"caf\xe9-\xff.jpg", os.path.join(bytes(ev), b"link"))
    os.symlink(b"caf\xe9-\xfe.jpg", os.path.join(bytes(ev), b"other"))
    new_case.ingest([ev], IngestOptions(workers=1))
    v = new_case.verify()
    assert (v["status"], v["ok"]) == ("intact", 2), v["problems"]
    os.remove(os.path.join(bytes(ev), b"other"))
    os.symlink(b"caf\xe9-\xfd.jpg", os.path.join(bytes(ev), b"other"))  # same display length, other bytes
    v = new_case.verify()
    assert v["status"] == "altered" and [p["path"].endswith("other") for p in v["problems"]] == [True]


def _bmp(width: int = 2, height: int = 2) -> bytes:
    row = b"\x00\x00\xff" * width + b"\x00" * ((4 - width * 3 % 4) % 4)
    pixels = row * height
    return (b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
            + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0) + pixels)


def test_mpeg_ts_and_bmp_need_real_structure() -> None:
    assert sniff.sniff(b"Good morning, this is a letter " * 6).mime == "text/plain"
    assert sniff.sniff(b"G" + bytes(187)).mime != "video/mp2t"
    assert sniff.sniff(b"BMW service record for the blue car, 2019" * 3).mime == "text/plain"
    assert sniff.sniff(b"BM" + bytes(40)).mime != "image/bmp"
    ts = (b"\x47\x40\x00\x10" + bytes(184)) * 3
    assert sniff.sniff(ts).mime == "video/mp2t"
    m2ts = (b"\x00\x00\x00\x00\x47\x40\x00\x10" + bytes(184)) * 3
    assert sniff.sniff(m2ts).mime == "video/mp2t"
    assert sniff.sniff(ts[:188] + b"x" + ts[189:]).mime != "video/mp2t"
    assert sniff.sniff(_bmp()).mime == "image/bmp"
    from PIL import Image
    import io

    assert Image.open(io.BytesIO(_bmp())).size == (2, 2)  # the known-good header is a real BMP


def _ingest_files(case: Case, tmp_path: Path, files: dict[str, bytes]) -> Path:
    """Write `files` into a fresh evidence folder and ingest it in this process."""
    ev = tmp_path / "ev"
    ev.mkdir()
    for name, data in files.items():
        (ev / name).write_bytes(data)
    case.ingest([ev], IngestOptions(workers=1))
    return ev


def test_text_starting_with_g_or_bm_is_not_video_or_image(new_case: Case, tmp_path: Path) -> None:
    _ingest_files(new_case, tmp_path, {"note.txt": b"Greetings from the lake",
                                       "car.txt": b"BMW service record for the blue car"})
    for it in new_case.items():
        assert it["mime"] == "text/plain" and "ext_mismatch" not in it["flags"], it


def test_a_lone_face_is_not_suggested_to_a_person_whose_faces_were_removed(tmp_path: Path) -> None:
    from forensics.faces.persons import run_clustering
    from forensics.faces.pipeline import write_faces
    from test_faces_index import record
    from test_faces_pipeline import add_item

    case = Case.create(tmp_path / "c", name="t", number="1", examiner="ex", authority="w")
    rng = np.random.default_rng(3)
    with case.store.write() as w:
        for pid in range(1, 6):  # named persons whose faces were all removed since
            w.execute("INSERT INTO persons (id, kind, name, created_utc, created_by) VALUES (?, 'person', ?, 'x', 'ex')",
                      (pid, f"P{pid}"))
        fids = [write_faces(w, add_item(w), [record(v / np.linalg.norm(v))], case.thumbs_dir)[0] for v in rng.normal(size=(6, 128))]
        ids = np.array(fids, np.int64)
        run_clustering(w, (ids, np.full((6, 1), -1, np.int64), np.full((6, 1), np.inf, np.float32)), 0.55, "ex")
    assert case.store.scalar("SELECT COUNT(*) FROM faces WHERE person_id IS NOT NULL") == 0
    case.close()


def _jpeg(path: Path, taken: str, offset: str | None = None) -> None:
    from PIL import Image

    ex = Image.Exif()
    sub = ex.get_ifd(0x8769)
    sub[0x9003] = taken  # DateTimeOriginal
    if offset:
        sub[0x9011] = offset  # OffsetTimeOriginal
    Image.new("RGB", (16, 16), (len(taken) * 7 % 255, 30, 90)).save(path, exif=ex)


def test_times_sort_and_filter_by_instant_and_unknown_zones_are_marked(new_case: Case, tmp_path: Path) -> None:
    from forensics import browse
    from test_media_formats import _clip

    ev = tmp_path / "ev"
    ev.mkdir()
    _jpeg(ev / "tokyo.jpg", "2024:05:01 18:30:00", "+09:00")  # 09:30 UTC
    _jpeg(ev / "local.jpg", "2024:05:01 09:45:00")  # zone unknown: read as 09:45
    _jpeg(ev / "newyork.jpg", "2024:05:01 05:00:00", "-04:00")  # 09:00 UTC
    _clip(ev / "cam.mp4", None, "libx264", seconds=0.5, created="2024-05-01T09:15:00.000000Z")
    new_case.ingest([ev], IngestOptions(workers=1))
    by_name = {Path(i["path"]).name: i for i in new_case.items(include_frames=False)}
    assert by_name["tokyo.jpg"]["taken_utc"].startswith("2024-05-01T09:30:00")
    assert (by_name["tokyo.jpg"]["taken_local"], by_name["tokyo.jpg"]["taken_offset"],
            by_name["tokyo.jpg"]["taken_zone"]) == ("2024-05-01T18:30:00", "+09:00", "offset")
    assert (by_name["local.jpg"]["taken_zone"], by_name["local.jpg"]["taken_offset"]) == ("local-unknown", None)
    assert by_name["cam.mp4"]["taken_zone"] == "utc"
    assert by_name["tokyo.jpg"]["taken_time"] == "2024-05-01T18:30:00+09:00"  # the recorded value is kept
    ids = browse.item_ids(new_case, browse.ItemFilter(), sort="date")
    names = [Path(new_case.item(i)["path"]).name for i in ids]
    assert names == ["newyork.jpg", "cam.mp4", "tokyo.jpg", "local.jpg"]  # as text this was cam, local, newyork, tokyo
    got = browse.item_ids(new_case, browse.ItemFilter(date_from="2024-05-01T09:10", date_to="2024-05-01T09:40"))
    assert sorted(Path(new_case.item(i)["path"]).name for i in got) == ["cam.mp4", "tokyo.jpg"]
    from forensics.report.gather import taken_text

    assert taken_text(by_name["local.jpg"]) == "2024-05-01T09:45:00 (local, zone unknown)"


def test_migration_fills_instants_for_existing_items(tmp_path: Path) -> None:
    import sqlite3

    from forensics.store.db import Store, migrations

    db = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, name TEXT NOT NULL, applied_utc TEXT NOT NULL)")
    for v, name, sql in migrations()[:3]:
        conn.executescript(sql)
        conn.execute("INSERT INTO schema_version VALUES (?, ?, 'x')", (v, name))
    conn.execute("INSERT INTO sources (id, path, path_raw, added_utc, added_by) VALUES (1, '/e', x'2f65', 'x', 'x')")
    for kind, t in (("image", "2024-05-01T18:30:00+09:00"), ("image", "2024-05-01T09:45:00"),
                    ("video", "2024-05-01T09:15:00.000000Z"), ("image", "garbage")):
        conn.execute("INSERT INTO items (kind, source_id, relpath, taken_time, ingested_utc) VALUES (?, 1, 'x', ?, 'x')",
                     (kind, t))
    conn.commit()
    conn.close()
    s = Store(db)
    rows = [tuple(r) for r in s.query("SELECT taken_utc, taken_zone FROM items ORDER BY id")]
    assert rows == [("2024-05-01T09:30:00.000000Z", "offset"), ("2024-05-01T09:45:00.000000Z", "local-unknown"),
                    ("2024-05-01T09:15:00.000000Z", "utc"), (None, None)]
    s.close()


def test_a_tree_deeper_than_path_max_is_walked_hashed_and_verified(new_case: Case, tmp_path: Path) -> None:
    ev = tmp_path / "ev"
    ev.mkdir()
    fd = os.open(ev, os.O_RDONLY)
    depth = 0
    try:
        for level in range(45):  # 45 x 101 bytes: beyond the 4,096 bytes a path may have
            name = f"{level:02}" + "d" * 98
            os.mkdir(name, dir_fd=fd)
            nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
            depth += len(name) + 1
            if level in (5, 44):
                wfd = os.open("f.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
                os.write(wfd, f"at level {level}".encode())
                os.close(wfd)
        os.symlink("f.txt", "link", dir_fd=fd)
    finally:
        os.close(fd)
    assert depth > 4096
    s = new_case.ingest([ev], IngestOptions(workers=1))
    assert (s.found, s.failed) == (3, 0)
    by_name = {i["relpath"].rsplit("/", 1)[-1] + str(i["relpath"].count("/")): i for i in new_case.items()}
    deep = by_name["f.txt45"]
    assert deep["size"] == 11 and deep["sha256"] and len(new_case.item_file(deep["id"])) > 4096
    assert by_name["link45"]["link_target"] == "f.txt"
    assert new_case.verify()["status"] == "intact"


def test_plain_text_listing_escapes_control_characters(new_case: Case, tmp_path: Path) -> None:
    import subprocess
    import sys

    _ingest_files(new_case, tmp_path, {"evil\nname\x1b[31m.txt": b"x", "ok.txt": b"y"})
    out = subprocess.run([sys.executable, "-m", "forensics.cli", "items", str(new_case.path)],
                         capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert len(lines) == 2 and "\x1b" not in out
    assert any(line.endswith("evil\\nname\\x1b[31m.txt") for line in lines)
    js = subprocess.run([sys.executable, "-m", "forensics.cli", "items", str(new_case.path), "--json"],
                        capture_output=True, text=True, check=True).stdout
    import json

    assert any(i["path"].endswith("evil\nname\x1b[31m.txt") for i in json.loads(js)["items"])  # JSON keeps the name


def test_error_texts_carry_no_object_reprs() -> None:
    from forensics.model import describe_error

    class Img:
        pass

    text = describe_error(ValueError(f"cannot handle {Img()!r} and {object()!r}"))
    assert "0x" not in text and text == "ValueError: cannot handle <Img> and <object>"


def test_huge_images_are_reduced_before_detection_and_boxes_stay_in_full_pixels(monkeypatch) -> None:
    """The decode for hashes, thumbnails and faces never holds more than MAX_WORK_PIXELS
    (here lowered so that a small real photo counts as huge); face boxes come back in the
    file's own pixels."""
    import io

    from forensics.faces.pipeline import detect_in_image
    from forensics.media import image as image_mod
    from sample_cases.build import astronaut

    buf = io.BytesIO()
    astronaut().resize((1024, 1024)).save(buf, "PNG")
    data = buf.getvalue()
    full = detect_in_image(data)
    assert len(full) == 1
    monkeypatch.setattr(image_mod, "MAX_WORK_PIXELS", 300_000)
    dec = image_mod.open_image(data, draft=None)
    assert dec.image.width * dec.image.height <= 300_000 and dec.scale == 2.0 and (dec.width, dec.height) == (1024, 1024)
    reduced = max(detect_in_image(data), key=lambda f: f.size)
    for a, b in zip(full[0].box, reduced.box):
        assert abs(a - b) <= 0.08 * full[0].size  # same face, same full-resolution place
    jbuf = io.BytesIO()
    astronaut().resize((1024, 1024)).save(jbuf, "JPEG", quality=92)
    jdec = image_mod.open_image(jbuf.getvalue(), draft=None)  # JPEG: reduced while decoding
    assert jdec.image.width * jdec.image.height <= 300_000 and jdec.scale == 2.0
