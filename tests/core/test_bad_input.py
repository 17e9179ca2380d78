"""Bad input never crashes a run, never loses the good files, and is recorded per file."""
from __future__ import annotations

import io
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from forensics.ingest.pipeline import IngestOptions
from forensics.ingest.records import FileTask
from forensics.ingest.worker import process_file
from sample_cases.build import _bomb_png


def _jpeg(seed: int, size=(320, 240), **kw) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "JPEG", **kw)
    return buf.getvalue()


def _huge_exif_jpeg() -> bytes:
    ex = Image.Exif()
    ex[0x010F] = "Make"
    ex[0x8769] = {0x9286: b"ASCII\x00\x00\x00" + b"A" * 60000}  # 60 KB UserComment: near the APP1 limit
    return _jpeg(3, exif=ex.tobytes())


@pytest.fixture
def bad_folder(tmp_path, shared_data):
    root = tmp_path / "mixed"
    shutil.copytree(shared_data / "faces" / "labeled", root / "labeled")
    bad = root / "bad"
    bad.mkdir()
    good = _jpeg(1)
    (bad / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (bad / "zero.jpg").write_bytes(b"")
    (bad / "photo.txt").write_bytes(_jpeg(2))
    (bad / "bomb.png").write_bytes(_bomb_png())
    (bad / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + os.urandom(4096))
    os.symlink("..", bad / "loop")
    (bad / b"bad\xff\xfename.jpg".decode("utf-8", "surrogateescape")).write_bytes(_jpeg(4))
    rng = np.random.default_rng(5)
    frames = [Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).convert("P") for _ in range(3000)]
    frames[0].save(bad / "many_frames.gif", save_all=True, append_images=frames[1:], duration=20)
    (bad / "huge_exif.jpg").write_bytes(_huge_exif_jpeg())
    os.mkfifo(bad / "pipe")
    return root


def test_bad_files_recorded_and_good_files_kept(new_case, bad_folder):
    good = sorted((bad_folder / "labeled").rglob("*.*"))
    s = new_case.ingest([bad_folder], IngestOptions(workers=2))
    items = {i["relpath"].removeprefix("bad/"): i for i in new_case.items(include_frames=False)}
    assert s.added == len(items) == len(good) + 10
    for p in good:
        it = items[str(p.relative_to(bad_folder))]
        assert it["status"] == "ok" and it["phash"] and not it["errors"], p
    t = items["truncated.jpg"]
    assert "truncated" in t["flags"] and "truncated" in t["errors"][0]["message"] and t["phash"]
    assert "empty" in items["zero.jpg"]["flags"] and items["zero.jpg"]["errors"]
    assert items["photo.txt"]["kind"] == "image" and "ext_mismatch" in items["photo.txt"]["flags"]
    bomb = items["bomb.png"]
    assert bomb["status"] == "error" and "decompression_bomb" in bomb["flags"] and (bomb["width"], bomb["height"]) == (30000, 30000)
    assert items["corrupt.mp4"]["status"] == "error" and "video_corrupt" in items["corrupt.mp4"]["flags"]
    assert "symlink" in items["loop"]["flags"] and items["loop"]["link_target"] == ".."
    odd = items["bad\\xff\\xfename.jpg"]
    assert "name_not_utf8" in odd["flags"] and odd["status"] == "ok" and odd["phash"]
    assert new_case.item_file(odd["id"]) == os.fsencode(bad_folder / "bad") + b"/bad\xff\xfename.jpg"
    gif = items["many_frames.gif"]
    assert "animated" in gif["flags"] and gif["frame_count"] == 3000 and gif["status"] == "ok"
    he = items["huge_exif.jpg"]
    assert he["status"] == "ok" and he["camera_make"] == "Make" and he["phash"]
    assert "special_file" in items["pipe"]["flags"]


def test_unreadable_file_is_an_error_not_a_crash():
    # /proc/self/mem is a regular file whose read at offset 0 fails with EIO, even as root.
    res = process_file(FileTask(1, b"/proc/self", b"mem"), IngestOptions())
    assert res.item["status"] == "error" and "unreadable" in res.item["flags"]
    assert res.errors and res.errors[0][0] == "read"
    gone = process_file(FileTask(1, b"/nonexistent-folder", b"gone.jpg"), IngestOptions())
    assert gone.item["status"] == "error" and "cannot stat" in gone.errors[0][1]


def test_truncation_noticed_even_after_face_recognition_import(monkeypatch):
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)  # restored to the policy afterwards
    import face_recognition  # noqa: F401  - sets PIL.ImageFile.LOAD_TRUNCATED_IMAGES = True

    from forensics.media.image import open_image

    ImageFile.LOAD_TRUNCATED_IMAGES = True  # as face_recognition leaves it on a first import
    good = _jpeg(9, (640, 480))
    dec = open_image(good[: len(good) * 2 // 3])
    assert "truncated" in dec.flags
    assert "truncated" not in open_image(good).flags
