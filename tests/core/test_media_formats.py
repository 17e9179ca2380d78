"""Containers, codecs and image details that phones, disks and CCTV exports produce."""
from __future__ import annotations

import io

import av
import numpy as np
import pytest
from PIL import Image

from forensics.ingest.pipeline import IngestOptions


def _clip(path, container: str | None, codec: str, seconds: float = 3.0, fps: int = 10, cut_at: float | None = None,
          created: str | None = None):
    rng = np.random.default_rng(3)
    a = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8).repeat(16, 0).repeat(20, 1)
    b = 255 - a
    with av.open(str(path), "w", format=container) as out:
        if created:
            out.metadata["creation_time"] = created
        st = out.add_stream(codec, rate=fps)
        st.width, st.height, st.pix_fmt = 160, 128, "yuv420p"
        for i in range(int(seconds * fps)):
            img = b if cut_at is not None and i / fps >= cut_at else a
            shifted = np.roll(img, i, axis=1)
            for pkt in st.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(shifted), format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)


@pytest.mark.parametrize("name,container,codec,mime", [
    ("a.mp4", None, "libx264", "video/mp4"),
    ("b.mov", None, "libx264", "video/quicktime"),
    ("c.mkv", None, "libx264", "video/x-matroska"),
    ("d.3gp", None, "mpeg4", "video/3gpp"),
    ("e.avi", None, "mpeg4", "video/x-msvideo"),
    ("f.h264", "h264", "libx264", "video/h264"),
])
def test_video_containers(new_case, tmp_path, name, container, codec, mime):
    ev = tmp_path / "ev"
    ev.mkdir()
    _clip(ev / name, container, codec, seconds=3.0, cut_at=1.45)
    new_case.ingest([ev], IngestOptions(workers=1))
    (video,) = new_case.items(kind="video")
    assert video["status"] == "ok" and video["mime"] == mime, video
    assert not video["errors"]
    assert (video["width"], video["height"]) == (160, 128)
    frames = new_case.frames(video["id"])
    if container == "h264":
        # A raw elementary stream carries no timestamps (and here no frame rate): the
        # times are an estimate at FFmpeg's default 25 fps, and flagged as such.
        assert "timing_estimated" in video["flags"] and video["frame_count"] == 30
        assert video["duration"] == pytest.approx(30 / video["fps"], abs=0.05)
        return
    assert video["duration"] == pytest.approx(3.0, abs=0.25)
    times = [f["frame_time"] for f in frames]
    assert times[:1] == [0.0] and any(abs(t - 1.0) < 0.11 for t in times) and any(abs(t - 2.0) < 0.11 for t in times)
    cuts = [f for f in frames if "scene_cut" in f["flags"]]
    assert len(cuts) == 1 and cuts[0]["frame_time"] == pytest.approx(1.5, abs=0.11)


def test_video_creation_time_and_single_file_source(new_case, tmp_path):
    clip = tmp_path / "cam.mp4"
    _clip(clip, None, "libx264", created="2024-05-01T10:00:00.000000Z")
    s = new_case.ingest([clip], IngestOptions(workers=1))
    assert s.added == 1
    (video,) = new_case.items(kind="video")
    assert video["path"] == str(clip) and video["taken_time"].startswith("2024-05-01T10:00:00")
    assert new_case.item_file(video["id"]) == str(clip).encode()


def test_exif_orientation_applied_to_thumbnail_and_hash(new_case, tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (300, 600, 3), dtype=np.uint8)  # landscape pixels
    ev = tmp_path / "ev"
    ev.mkdir()
    ex = Image.Exif()
    ex[0x0112] = 6  # rotate 90 CW to display: the picture is portrait
    Image.fromarray(arr).save(ev / "rotated.jpg", quality=95, exif=ex.tobytes())
    Image.fromarray(np.rot90(arr, k=-1)).save(ev / "upright.jpg", quality=95)
    new_case.ingest([ev], IngestOptions(workers=1))
    items = {i["relpath"]: i for i in new_case.items()}
    rot = items["rotated.jpg"]
    assert rot["orientation"] == 6 and (rot["width"], rot["height"]) == (600, 300)
    thumb = Image.open(new_case.thumb_path(rot["id"]))
    assert thumb.height > thumb.width  # displayed upright
    from forensics.hashing.perceptual import from_hex, hamming

    assert hamming(from_hex(rot["phash"]), from_hex(items["upright.jpg"]["phash"])) <= 4
