"""Face-following video sampling: dense around faces, nearly free on a static picture."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics.media.follow import FollowRates, FollowSampler
from forensics.media.video import open_video, probe

FPS = 10
APPEAR, LEAVE = 4.05, 5.15  # the face is in the picture for 1.1 s
BOX = (60, 200, 100, 160)  # where the fake detector reports it (top, right, bottom, left)


def _clip(path: Path, face: Image.Image | None, seconds: float = 10.0, size: int = 40) -> Path:
    """A fixed-camera clip: a static generated background, a face crossing it between APPEAR and LEAVE."""
    import av

    rng = np.random.default_rng(3)
    bg = Image.fromarray((rng.integers(60, 200, (18, 32, 3))).astype(np.uint8)).resize((640, 360), Image.Resampling.BICUBIC)
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=FPS)
        st.width, st.height, st.pix_fmt = 640, 360, "yuv420p"
        st.options = {"crf": "23", "preset": "veryfast"}
        for i in range(int(seconds * FPS)):
            t = i / FPS
            canvas = bg.copy()
            if APPEAR <= t < LEAVE:
                x = int(160 + (t - APPEAR) * 100)
                if face is not None:
                    canvas.paste(face.resize((size * 2, size * 2)), (x, 40))
                else:
                    canvas.paste((250, 250, 250), (x, 60, x + 40, 100))
            for pkt in st.encode(av.VideoFrame.from_image(canvas)):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


def _run(path: Path, rates: FollowRates, truth, boxes=None) -> list:
    """Sample with a fake detector: `truth(t)` says whether the face is there, or
    `boxes(t)` lists the face boxes at t. Every frame is handed out at most once."""
    c = open_video(str(path).encode())
    try:
        info = probe(c)
        sampler = FollowSampler(c, info, rates)
        out = []
        for s in sampler:
            out.append(s)
            sampler.found(s, boxes(s.time) if boxes else ([BOX] if truth(s.time) else []))
        assert len({s.index for s in out}) == len(out), "a frame was sampled twice"
        return out, sampler, info
    finally:
        c.close()


def test_static_stretches_cost_almost_nothing_and_appearance_is_followed(tmp_path):
    path = _clip(tmp_path / "clip.mp4", None)
    samples, sampler, info = _run(path, FollowRates(base=0.5, dense=0.2), lambda t: APPEAR <= t < LEAVE)
    times = sorted(s.time for s in samples)
    # before the appearance: the first frame and nothing else (static picture, no face)
    assert [t for t in times if t < APPEAR - 0.6] == [0.0]
    inside = [s for s in samples if APPEAR <= s.time < LEAVE]
    # found from its first frame (look-back), then every dense step until it leaves
    assert min(s.time for s in inside) <= APPEAR + 0.11
    assert max(s.time for s in inside) >= LEAVE - 0.21
    gaps = np.diff(sorted(s.time for s in inside))
    assert gaps.max() <= 0.2 + 1e-6
    assert {"lookback", "dense"} <= {s.reason for s in inside}
    assert all(s.near == (BOX,) for s in inside if s.reason in ("dense", "lookback"))
    # and after it left: dense for the hold time, then static again
    assert len([t for t in times if t > LEAVE + 1.5]) <= 2
    assert len(samples) < 30 and info.frame_count == 100 and sampler.counts["interval"] >= 2


def test_default_base_rate_finds_a_one_second_appearance_from_its_start(tmp_path):
    """At the default rates (a full-frame look every second) a 1.1 s appearance gets a
    full-frame look, and the look-back finds it within one dense step of its start."""
    path = _clip(tmp_path / "clip.mp4", None)
    rates = FollowRates()
    samples, _, _ = _run(path, rates, lambda t: APPEAR <= t < LEAVE)
    inside = [s for s in samples if APPEAR <= s.time < LEAVE]
    assert any(s.reason == "interval" for s in inside)
    assert min(s.time for s in inside) <= APPEAR + rates.dense + 1e-6
    assert max(s.time for s in inside) >= LEAVE - rates.dense - 1e-6


def test_a_second_face_appearing_while_one_is_followed(tmp_path):
    """Person A is followed densely when B appears elsewhere: B's start is looked back
    for between A's dense samples (which only searched around A), never sampling a frame twice."""
    path = _clip(tmp_path / "clip.mp4", None)
    far = (250, 600, 290, 560)

    def boxes(t: float) -> list:
        return ([BOX] if 2.0 <= t < 7.0 else []) + ([far] if 4.05 <= t < 5.15 else [])

    samples, _, _ = _run(path, FollowRates(), None, boxes)
    with_b = sorted(s.time for s in samples if 4.05 <= s.time < 5.15 and (s.reason in ("interval", "scene")
                                                                            or far in s.near))
    assert with_b and min(with_b) <= 4.05 + 0.26


def test_base_rate_samples_a_changing_picture(tmp_path):
    """Without faces, a picture that keeps changing is looked at every base interval."""
    path = _clip(tmp_path / "clip.mp4", None)
    samples, _, _ = _run(path, FollowRates(base=0.5), lambda t: False)
    inside = sorted(s.time for s in samples if APPEAR <= s.time < LEAVE)
    assert len(inside) >= 2  # a 1.1 s appearance gets at least two full-frame looks
    assert all(s.reason == "interval" for s in samples)


def test_ingest_follows_a_real_face(new_case, tmp_path):
    """End to end with the real detector: a 1.1 s appearance of a ~40 px face becomes one
    track spanning it, from far fewer samples than frames."""
    from forensics.ingest.records import IngestOptions
    from sample_cases.build import astronaut

    face = astronaut().crop((150, 40, 300, 190))
    path = _clip(tmp_path / "ev" / "clip.mp4", face, size=40) if (tmp_path / "ev").mkdir() is None else None
    new_case.ingest([path.parent], IngestOptions(faces=True, workers=1))
    (video,) = new_case.items(kind="video")
    frames = new_case.store.query("SELECT frame_time FROM items WHERE parent_id = ?", (video["id"],))
    tracks = new_case.store.query("SELECT start_time, end_time, detections FROM face_tracks WHERE video_id = ?",
                                  (video["id"],))
    assert len(frames) < 35
    assert len(tracks) == 1
    start, end, n = tracks[0]
    # followed densely from its start, the span covering it though only some detections
    # are described (forensics.faces.select): the track spans where the face was seen
    sampled = [t for (t,) in frames if APPEAR <= t < LEAVE]
    assert len(sampled) >= 4 and 1 <= n < len(sampled)
    assert start <= APPEAR + 0.21 and end >= LEAVE - 0.31
    # played back from the core: every frame from a second before to the end, boxes on the face
    (tid,) = new_case.store.query("SELECT id FROM face_tracks")[0]
    pb = new_case.faces.playback(tid, lead=1.0)
    times = [f.time for f in pb.frames]
    assert times[0] == pytest.approx(max(0.0, start - 1.0), abs=0.06) and times[-1] == pytest.approx(end, abs=0.06)
    assert np.allclose(np.diff(times), 0.1, atol=0.01)  # every frame, not just the sampled ones
    assert all(f.box is None for f in pb.frames if f.time < start - 0.06)
    dets = new_case.store.query("SELECT i.frame_time, f.box_top, f.box_right, f.box_bottom, f.box_left FROM faces f"
                                " JOIN items i ON i.id = f.item_id WHERE f.track_id = ?", (tid,))
    for d in dets:
        f = min(pb.frames, key=lambda f: abs(f.time - d[0]))
        assert f.detected and f.box == tuple(d[1:])
    assert all(f.box is not None for f in pb.frames if start <= f.time <= end)
    assert 1 <= len(pb.best_faces) <= 8 and pb.frames[0].image.shape == (360, 640, 3)
