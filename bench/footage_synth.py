"""Synthetic archived footage for bench/footage.py, built from ../shared/data only.

LFW faces (deep-funnelled photos) are composited into the frames of
`video/overhead_crowd.avi` (a real overhead CCTV-style crowd, 50 fps, resampled to 10 fps
and played back and forth to the wanted length). Each appearance is one person's face
moving along a straight line for 2-4 s at a fixed width of 20-50 px (the width of the
square box dlib's landmark model frames, `size` in the faces table), blurred by a
per-appearance amount; then every frame gets sensor noise and the clip is encoded as
H.264 at CRF 32. The ground truth (who, when, where, how large, which photo was pasted
and which different photo is the query) is written next to the clip.

Generation takes about a minute per two-minute clip and is cached under
/work/cache/footage/ (or $FOOTAGE_CACHE), keyed by its parameters.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
LFW = DATA / "lfw"
CROWD = DATA / "video" / "overhead_crowd.avi"
CACHE = Path(os.environ.get("FOOTAGE_CACHE", "/work/cache/footage"))
W, H, FPS = 1280, 720, 10
VERSION = 3  # bump when generation changes, so stale clips are rebuilt


@dataclass(frozen=True)
class Appearance:
    person: str
    photo: str  # the LFW photo composited into the footage
    query: str | None  # a different photo of the same person to search with; None for distractors
    start: float
    end: float
    size: int  # face width in pixels (dlib box side)
    x0: float
    y0: float
    x1: float
    y1: float  # face centre at start and end
    blur: float


def _people(seed: int) -> tuple[list[str], list[str]]:
    """(people with two or more photos, people with one), shuffled reproducibly."""
    multi, single = [], []
    for d in sorted(p for p in LFW.iterdir() if p.is_dir()):
        n = sum(1 for _ in d.glob("*.jpg"))
        (multi if n >= 2 else single).append(d.name)
    rng = random.Random(seed)
    rng.shuffle(multi)
    rng.shuffle(single)
    return multi, single


def _face_box(rgb: np.ndarray) -> tuple[float, float, float] | None:
    """(centre x, centre y, dlib side) of the most confident central face of an LFW photo."""
    from forensics.faces import yunet

    dets = [d for d in yunet.detect(rgb, 0.8, 40) if abs(d[0] + d[2] / 2 - 125) < 40 and abs(d[1] + d[3] / 2 - 125) < 50]
    if not dets:
        return None
    x, y, w, h, _ = max(dets, key=lambda d: d[4])
    left, top, side, _ = yunet.to_dlib_box(x, y, w, h)
    return left + side / 2, top + side / 2, side


def plan(part: str, people: int, distractors: int, seconds: float, seed: int) -> list[Appearance]:
    """Who appears when: `people` searched persons and `distractors` others, in `part`
    ("tune" or "test": disjoint people)."""
    from PIL import Image

    multi, single = _people(seed)
    half = len(multi) // 2
    pool = multi[:half] if part == "tune" else multi[half:]
    others = single[: len(single) // 2] if part == "tune" else single[len(single) // 2:]
    rng = random.Random(f"{seed}-{part}")
    chosen: list[tuple[str, str, str | None]] = []
    for name, is_target in [(n, True) for n in pool] + [(n, False) for n in others]:
        if (is_target and sum(c[2] is not None for c in chosen) >= people) or (
                not is_target and sum(c[2] is None for c in chosen) >= distractors):
            continue
        photos = sorted((LFW / name).glob("*.jpg"))
        if _face_box(np.asarray(Image.open(photos[0]).convert("RGB"))) is None:
            continue
        chosen.append((name, str(photos[0]), str(photos[1]) if is_target else None))
        if sum(c[2] is not None for c in chosen) >= people and sum(c[2] is None for c in chosen) >= distractors:
            break
    rng.shuffle(chosen)
    # spread the appearances over the clip; at most two people on screen at once
    slots = np.linspace(1.0, seconds - 5.0, len(chosen))
    out = []
    for (name, photo, query), t in zip(chosen, slots):
        dur = rng.uniform(2.0, 4.0)
        start = round(float(t) + rng.uniform(-0.5, 0.5), 2)
        size = rng.randint(20, 50)
        x0, y0 = rng.uniform(100, W - 100), rng.uniform(80, H - 80)
        ang = rng.uniform(0, 2 * np.pi)
        dist = rng.uniform(60, 160) * dur / 3  # a slow walk seen from afar
        x1 = float(np.clip(x0 + dist * np.cos(ang), 40, W - 40))
        y1 = float(np.clip(y0 + dist * np.sin(ang), 40, H - 40))
        out.append(Appearance(name, photo, query, start, round(start + dur, 2), size, x0, y0, x1, y1,
                              round(rng.uniform(0.4, 1.1), 2)))
    return out


def _background(seconds: float) -> list[np.ndarray]:
    """The crowd clip at 10 fps, played forward and back until `seconds` long."""
    import av

    with av.open(str(CROWD)) as c:
        frames = [f.to_ndarray(format="rgb24") for i, f in enumerate(c.decode(video=0)) if i % 5 == 0]
    loop = frames + frames[-2:0:-1]
    n = int(seconds * FPS)
    return [loop[i % len(loop)] for i in range(n)]


def _sprite(photo: str, size: int, blur: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(RGB patch, alpha 0-1, face-centre offset) of a face scaled to `size`, soft-edged."""
    from PIL import Image, ImageFilter

    im = Image.open(photo).convert("RGB")
    cx, cy, side = _face_box(np.asarray(im))  # type: ignore[misc]
    scale = size / side
    half = side * 0.9  # face plus hair and a little neck, as a head looks
    crop = im.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))
    n = max(4, round(2 * half * scale))
    patch = crop.resize((n, n), Image.Resampling.LANCZOS).filter(ImageFilter.GaussianBlur(blur))
    yy, xx = np.mgrid[0:n, 0:n] / (n - 1) * 2 - 1
    r = np.sqrt((xx / 0.8) ** 2 + (yy / 0.95) ** 2)  # head-shaped ellipse, feathered edge
    alpha = np.clip((1.1 - r) / 0.25, 0, 1)
    return np.asarray(patch, np.float32), alpha[..., None].astype(np.float32), n / 2


def build(part: str, people: int = 24, distractors: int = 16, seconds: float = 120.0, seed: int = 10) -> tuple[Path, list[Appearance]]:
    """The clip and its ground truth for one part, generated once and cached."""
    key = hashlib.sha256(json.dumps([VERSION, part, people, distractors, seconds, seed]).encode()).hexdigest()[:12]
    folder = CACHE / f"{part}-{key}"
    clip, truth = folder / "footage.mp4", folder / "truth.json"
    if clip.is_file() and truth.is_file():
        return clip, [Appearance(**a) for a in json.loads(truth.read_text())]
    apps = plan(part, people, distractors, seconds, seed)
    folder.mkdir(parents=True, exist_ok=True)
    render(apps, _background(seconds), clip, seed)
    truth.write_text(json.dumps([asdict(a) for a in apps], indent=1))
    return clip, apps


def render(apps: list[Appearance], backgrounds: list[np.ndarray], clip: Path, seed: int) -> None:
    """Composite the appearances onto the background frames (10 fps), add sensor noise,
    encode as H.264 at CRF 32 to `clip` (written whole or not at all)."""
    import av

    sprites = {a.photo + str(a.size): _sprite(a.photo, a.size, a.blur) for a in apps}
    rng = np.random.default_rng(seed)
    # sensor noise: a bank of noise fields drawn once, picked at random per frame (drawing
    # 2.7 M normals per frame would cost more than the rest of the generation)
    noise = [np.clip(rng.normal(0, 4.0, (H, W, 3)), -127, 127).astype(np.int16) for _ in range(12)]
    tmp = clip.with_suffix(".partial.mp4")
    with av.open(str(tmp), "w") as out:
        st = out.add_stream("libx264", rate=FPS)
        st.width, st.height, st.pix_fmt = W, H, "yuv420p"
        st.options = {"crf": "32", "preset": "veryfast"}
        for i, bg in enumerate(backgrounds):
            t = i / FPS
            frame = bg.copy()
            for a in apps:
                if a.start <= t < a.end:
                    patch, alpha, off = sprites[a.photo + str(a.size)]
                    u = (t - a.start) / (a.end - a.start)
                    cx, cy = a.x0 + u * (a.x1 - a.x0), a.y0 + u * (a.y1 - a.y0)
                    x, y = int(round(cx - off)), int(round(cy - off))
                    n = patch.shape[0]
                    xs, ys = slice(max(0, x), min(W, x + n)), slice(max(0, y), min(H, y + n))
                    px, py = slice(xs.start - x, xs.stop - x), slice(ys.start - y, ys.stop - y)
                    region = frame[ys, xs].astype(np.float32)
                    frame[ys, xs] = (region * (1 - alpha[py, px]) + patch[py, px] * alpha[py, px]).astype(np.uint8)
            noisy = frame.astype(np.int16)
            noisy += noise[int(rng.integers(len(noise)))]
            vf = av.VideoFrame.from_ndarray(np.clip(noisy, 0, 255).astype(np.uint8), format="rgb24")
            for pkt in st.encode(vf):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    tmp.rename(clip)
