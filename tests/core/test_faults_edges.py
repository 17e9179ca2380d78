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
    v = new_case.reports.verify()
    assert (v["status"], v["ok"]) == ("intact", 2), v["problems"]
    os.remove(os.path.join(bytes(ev), b"other"))
    os.symlink(b"caf\xe9-\xfd.jpg", os.path.join(bytes(ev), b"other"))  # same display length, other bytes
    v = new_case.reports.verify()
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


def test_text_starting_with_g_or_bm_is_not_video_or_image(new_case: Case, tmp_path: Path) -> None:
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "note.txt").write_bytes(b"Greetings from the lake")
    (ev / "car.txt").write_bytes(b"BMW service record for the blue car")
    new_case.ingest([ev], IngestOptions(workers=1))
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
        fids = [write_faces(w, add_item(w), [record(v / np.linalg.norm(v))])[0] for v in rng.normal(size=(6, 128))]
        ids = np.array(fids, np.int64)
        run_clustering(w, (ids, np.full((6, 1), -1, np.int64), np.full((6, 1), np.inf, np.float32)), 0.55, "ex")
    assert case.store.scalar("SELECT COUNT(*) FROM faces WHERE person_id IS NOT NULL") == 0
    case.close()
