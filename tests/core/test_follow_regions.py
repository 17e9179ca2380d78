"""Base samples of a fixed camera search only what changed since it was last searched
(forensics.media.change, forensics.media.follow), and a frame's hashes and thumbnail come
from one reduced copy (forensics.ingest.frames)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics.media.change import changed_areas, changed_cells, searched_blocks
from forensics.media.follow import FollowRates, FollowSampler
from forensics.media.video import open_video, probe

FPS = 10
W, H = 640, 360
APPEAR, LEAVE = 4.05, 6.15  # the walker is in the picture for 2.1 s
STAND = (60, 200, 100, 160)  # the standing person's box (top, right, bottom, left), there from the first frame


def walker(t: float) -> tuple[int, int, int, int]:
    x = int(420 + (t - APPEAR) * 60)
    return (220, x + 40, 260, x)


def _clip(path: Path, stand: Image.Image | None = None, walk: Image.Image | None = None, seconds: float = 8.0) -> Path:
    """A fixed camera on a static generated background: someone standing still all along
    (a white square, or the `stand` face) and someone crossing between APPEAR and LEAVE."""
    import av

    rng = np.random.default_rng(5)
    bg = Image.fromarray((rng.integers(60, 200, (18, 32, 3))).astype(np.uint8)).resize((W, H), Image.Resampling.BICUBIC)
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=FPS)
        st.width, st.height, st.pix_fmt = W, H, "yuv420p"
        st.options = {"crf": "23", "preset": "veryfast"}
        for i in range(int(seconds * FPS)):
            t = i / FPS
            canvas = bg.copy()
            top, right, bottom, left = STAND
            if stand is None:
                canvas.paste((250, 250, 250), (left, top, right, bottom))
            else:
                canvas.paste(stand, (left - 20, top - 20))
            if APPEAR <= t < LEAVE:
                top, right, bottom, left = walker(t)
                if walk is None:
                    canvas.paste((250, 250, 250), (left, top, right, bottom))
                else:
                    canvas.paste(walk, (left - 20, top - 20))
            for pkt in st.encode(av.VideoFrame.from_ndarray(np.asarray(canvas), format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


def _inside(box: tuple[int, int, int, int], area: tuple[int, int, int, int]) -> bool:
    top, right, bottom, left = box
    return area[0] <= left and area[1] <= top and right <= area[2] and bottom <= area[3]


def test_changed_areas_hold_a_change_whole_and_ignore_a_flickering_block():
    ref = np.full((H // 4, W // 4), 100.0, np.float32)
    now = ref.copy()
    now[50:56, 100:106] += 40  # a 24 px face-sized change at x 400-424, y 200-224
    now[10, 10] += 60  # one flickering 4x4 block
    now[80:84, 20:24] -= 30  # a second change far away, x 80-96, y 320-336
    cells = changed_cells(now, ref, 12.0)
    areas = changed_areas(cells, 48, W, H)
    assert len(areas) == 2  # the flicker alone changes no cell; two changes, two disjoint areas
    assert any(_inside((200, 424, 224, 400), a) for a in areas)
    assert any(_inside((320, 96, 336, 80), a) for a in areas)
    for a in areas:  # each with 48 px of context, and far less than the frame
        assert (a[2] - a[0]) * (a[3] - a[1]) < 0.2 * W * H
    big = next(a for a in areas if _inside((200, 424, 224, 400), a))
    assert big[0] <= 400 - 48 and big[1] <= 200 - 48 and big[2] >= 424 + 48 and big[3] >= 224 + 48
    searched_blocks(ref, now, areas)  # once searched, the same picture holds no change there
    assert not changed_cells(now, ref, 12.0)[:, 10:].any()


def _sample(path: Path, boxes, rates: FollowRates | None = None) -> list:
    c = open_video(str(path).encode())
    try:
        sampler = FollowSampler(c, probe(c), rates)
        out = []
        for s in sampler:
            found = boxes(s)
            out.append((s, found))
            sampler.found(s, found)
        assert len({s.index for s, _ in out}) == len(out), "a frame was sampled twice"
        return out
    finally:
        c.close()


def test_a_static_stretch_is_not_searched_again_and_a_face_appearing_after_it_is(tmp_path):
    """Someone stands still in a fixed camera's picture from the first frame: after the
    first whole-frame look only the dense samples around them are searched, never the
    static rest of the frame again; a second person entering later is searched where the
    picture changed, found within one dense step of their start, and followed."""
    path = _clip(tmp_path / "clip.mp4")

    def boxes(s) -> list:
        def searched(b):  # what a detector searching only the sample's areas and near boxes can find
            if not s.near and not s.areas:
                return True
            if any(_inside(b, a) for a in s.areas):
                return True
            return any(abs(b[3] - n[3]) < 100 and abs(b[0] - n[0]) < 100 for n in s.near)
        present = [STAND] + ([walker(s.time)] if APPEAR <= s.time < LEAVE else [])
        return [b for b in present if searched(b)]

    out = _sample(path, boxes)
    whole = [s for s, _ in out if not s.near and not s.areas]
    assert [s.time for s in whole] == [0.0]  # one whole-frame look in 8 s
    before = [s for s, _ in out if 0 < s.time < APPEAR]
    assert before and all(s.reason == "dense" and s.near == (STAND,) for s in before)
    partial = [s for s, _ in out if s.areas]
    assert partial and all(s.reason == "interval" for s in partial)
    first = min(partial, key=lambda s: s.time)
    assert APPEAR <= first.time < APPEAR + 1.0 and any(_inside(walker(first.time), a) for a in first.areas)
    assert sum((a[2] - a[0]) * (a[3] - a[1]) for a in first.areas) < 0.25 * W * H
    seen = sorted(s.time for s, found in out if any(b != STAND for b in found))
    assert seen[0] <= APPEAR + 0.26 and seen[-1] >= LEAVE - 0.36
    assert np.diff(seen).max() <= 0.25 + 1 / FPS + 1e-6  # every dense step (rounded up to a frame)


def test_a_picture_changing_everywhere_is_searched_whole(tmp_path):
    """When the changes cover most of the frame (a crowd, a moving camera), base samples
    search the whole frame as before."""
    from forensics.ingest.records import IngestOptions

    path = _clip(tmp_path / "clip.mp4", seconds=3.0)
    rates = IngestOptions(follow_change_level=-1.0).follow_rates()  # every block counts as changed
    assert rates == FollowRates(change_level=-1.0)
    out = _sample(path, lambda s: [], rates)
    base = [s for s, _ in out if s.reason == "interval"]
    assert len(base) == 3 and all(not s.areas and not s.near for s in base)


def test_real_faces_standing_and_entering(tmp_path):
    """With the real detector on each sample's search areas: the standing face is found at
    every dense sample, the entering one from its start, and the static rest of the frame
    is searched once."""
    from forensics.faces.detect import find_faces
    from sample_cases.build import astronaut, grace_hopper_bytes

    import io

    face_a = astronaut().crop((150, 40, 300, 190)).resize((80, 80))
    face_b = Image.open(io.BytesIO(grace_hopper_bytes())).convert("RGB")
    face_b = face_b.crop((130, 100, 405, 375)).resize((80, 80))
    path = _clip(tmp_path / "clip.mp4", stand=face_a, walk=face_b)
    out = _sample(path, lambda s: [c.box for c in find_faces(s.rgb, None, s.near, s.areas)])
    whole = [s for s, _ in out if not s.near and not s.areas]
    assert [s.time for s in whole] == [0.0]
    near_stand = [found for s, found in out if s.reason == "dense" and s.time < APPEAR]
    assert near_stand and all(len(f) == 1 and f[0][3] < 300 for f in near_stand)
    entering = sorted(s.time for s, found in out if any(b[3] > 300 for b in found))
    assert entering and entering[0] <= APPEAR + 0.26 and entering[-1] >= LEAVE - 0.36


def test_frame_summary_from_one_reduced_copy():
    from forensics.hashing.perceptual import hamming, image_hashes
    from forensics.ingest.frames import reduction, summarise_frame
    from sample_cases.build import astronaut

    frame = np.asarray(astronaut().resize((1280, 720), Image.Resampling.BICUBIC))
    s = summarise_frame(frame)
    full = image_hashes(Image.fromarray(frame))
    assert reduction(1280, 720) == 4
    assert hamming(s.phash, full["phash"]) <= 3 and hamming(s.dhash, full["dhash"]) <= 3
    assert not s.blank and Image.open(__import__("io").BytesIO(s.thumb)).size == (256, 144)
    flat = summarise_frame(np.full((720, 1280, 3), 90, np.uint8), thumbnail=False)
    assert flat.blank and flat.thumb is None
    small = np.asarray(astronaut().resize((160, 120)))
    assert reduction(160, 120) == 1 and summarise_frame(small).phash == image_hashes(Image.fromarray(small))["phash"]


@pytest.mark.parametrize("shape", [(360, 640), (362, 642), (17, 30)])
def test_changed_cells_any_frame_size(shape):
    h, w = shape
    ref = np.zeros((h // 4, w // 4), np.float32)
    now = ref.copy()
    now[-2:, -2:] = 50  # a change in the bottom-right corner blocks
    areas = changed_areas(changed_cells(now, ref, 12.0), 48, w, h)
    assert len(areas) == 1 and areas[0][2] == w and areas[0][3] == h
