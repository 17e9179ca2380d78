"""Probe hashes: pHash/dHash of sub-windows, the border-trimmed picture and turned variants.

The 64-bit hashes of the whole picture move when a copy is cropped on one side, framed or
turned a few degrees. Each image therefore also gets a fixed set of *probes*, each a
pHash + dHash pair computed the same way as the item's own hashes:

- slot 0 `trim`: the picture inside plain borders or letterbox bars
  (forensics.hashing.borders); equal to the item's hashes when there is no border;
- slots 1-8: windows of the (trimmed) picture cut by WINDOW_CUT on one side (L, R, T, B)
  or on two adjacent sides (LT, LB, RT, RB). A copy cropped by 5-10 % on those sides is
  within half a step (2.5 %) of one of them, where pHash and dHash still agree
  (bench/copies.py: p90 6-8 bits);
- slot 9 `centre`: the middle, cut by CENTRE_CUT on every side (rotated copies: the middle
  turns in place while the corners change), and slots 10-11 the middle after turning the
  picture by +/-ROTATION degrees, so a 3-10 degree turn is within 3 degrees of a probe;
- slots 12-18: the seven other dihedral orientations (mirror, 90-degree turns) of the
  trimmed picture, so copy grouping, which has no query pixels, can join turned copies.

A copy then shares a probe hash with its original: its whole-picture hash is near a
window (or dihedral) probe of the original, or their centre probes meet. Probes only
propose candidates; forensics.copies.keypoints confirms them.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

from forensics.hashing.borders import border_box
from forensics.hashing.perceptual import dhash_bits, phash_bits, phash_of_pixels

WINDOW_CUT = 0.075
CENTRE_CUT = 0.10
ROTATION = 7.0
# Search only (not stored): the query's middle is also turned by these angles, so with the
# stored 0 and +/-7 degrees the turns are covered every 3.5 degrees up to 10.5 (a tilt is
# then within 1.75 degrees of one, where the middles' hashes still agree).
QUERY_ROTATIONS = (3.5, -3.5, 10.5, -10.5)
# (name, left, top, right, bottom) fractions cut from the trimmed picture.
WINDOWS: tuple[tuple[str, float, float, float, float], ...] = tuple(
    (name, WINDOW_CUT * ("L" in name), WINDOW_CUT * ("T" in name), WINDOW_CUT * ("R" in name), WINDOW_CUT * ("B" in name))
    for name in ("L", "R", "T", "B", "LT", "LB", "RT", "RB"))
T = Image.Transpose
TURNS = (T.FLIP_LEFT_RIGHT, T.ROTATE_90, T.ROTATE_180, T.ROTATE_270, T.FLIP_TOP_BOTTOM, T.TRANSPOSE, T.TRANSVERSE)
SLOTS = ("trim",) + tuple(w[0] for w in WINDOWS) + ("centre", "centre+rot", "centre-rot") + tuple(
    f"turn{i}" for i in range(1, 8))
TRIM, WIN0, WIN1, CENTRE, ROT0, ROT1, TURN0, TURN1 = 0, 1, 9, 9, 10, 12, 12, 19
N_SLOTS = len(SLOTS)  # 19
# The long side the picture is reduced to before cutting windows: the windows are hashed at
# 32x32 / 9x8 anyway, and cutting 12 windows from a 500-px draft would cost 3x as much.
WORK_SIZE = 128
_MASK = (1 << 64) - 1


def _hash_pair(gray: Image.Image) -> tuple[int, int]:
    p = np.packbits(phash_bits(gray)).view(">u8")[0]
    d = np.packbits(dhash_bits(gray)).view(">u8")[0]
    return int(p), int(d)


def image_pair(im: Image.Image) -> tuple[int, int]:
    """The item's own pHash/dHash as unsigned integers (forensics.hashing.perceptual)."""
    return _hash_pair(im.convert("L"))


@lru_cache(maxsize=256)
def _lanczos(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of Pillow's Lanczos (a = 3) reduction, so a window is reduced
    by two small matrix products instead of a Pillow resize per window (6x cheaper; the
    hashes differ from Pillow's by about one bit, bench/copies.py)."""
    scale = n_in / n_out
    fs = max(scale, 1.0)
    support = 3.0 * fs
    x = np.arange(n_in)[None, :] + 0.5
    centre = (np.arange(n_out)[:, None] + 0.5) * scale
    t = (x - centre) / fs
    w = np.sinc(t) * np.sinc(t / 3.0) * (np.abs(x - centre) < support)
    return w / w.sum(axis=1, keepdims=True)


def _reduce(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    return np.clip(_lanczos(a.shape[0], rows) @ a @ _lanczos(a.shape[1], cols).T, 0, 255)


def _pair_of_array(a: np.ndarray) -> tuple[int, int]:
    p = np.packbits(phash_of_pixels(_reduce(a, 32, 32))).view(">u8")[0]
    d = _reduce(a, 8, 9)
    return int(p), int(np.packbits(d[:, 1:] > d[:, :-1]).view(">u8")[0])


def _cut(a: np.ndarray, l: float, t: float, r: float, b: float) -> np.ndarray:
    h, w = a.shape
    return a[round(h * t):h - round(h * b), round(w * l):w - round(w * r)]


def _work(im: Image.Image) -> Image.Image:
    """The picture reduced by an integer box factor to about WORK_SIZE on its long side
    (Image.reduce is several times cheaper than resampling the whole draft)."""
    k = max(1, round(max(im.size) / WORK_SIZE))
    return im.reduce(k) if k > 1 else im


def window_hashes(a: np.ndarray) -> list[tuple[int, int]]:
    """The eight one- and two-side windows of a (trimmed, reduced) grey picture (float array)."""
    return [_pair_of_array(_cut(a, l, t, r, b)) for _, l, t, r, b in WINDOWS]


def centre_hashes(gray: Image.Image, angles: tuple[float, ...] = (0.0, ROTATION, -ROTATION)) -> list[tuple[int, int]]:
    """The middle of a grey picture, upright and turned by each angle (degrees, about the centre)."""
    c = CENTRE_CUT
    out = []
    for ang in angles:
        im = gray if ang == 0 else gray.rotate(ang, resample=Image.Resampling.BILINEAR)
        out.append(_pair_of_array(_cut(np.asarray(im, dtype=np.float64), c, c, c, c)))
    return out


# numpy equivalents of TURNS on a (rows, cols) array, and whether they swap the axes.
_TURN_OPS = ((lambda a: a[:, ::-1], False), (lambda a: np.rot90(a, 1), True), (lambda a: np.rot90(a, 2), False),
             (lambda a: np.rot90(a, 3), True), (lambda a: a[::-1, :], False), (lambda a: a.T, True),
             (lambda a: np.rot90(a, 2).T, True))


def turned_hashes(a: np.ndarray) -> list[tuple[int, int]]:
    """pHash/dHash of the seven turned and mirrored versions of a grey picture (float
    array), from one 32x32 and two 9x8 reductions turned as arrays (reducing commutes
    with turning)."""
    p32 = _reduce(a, 32, 32)
    d_same, d_swap = _reduce(a, 8, 9), _reduce(a, 9, 8)
    out = []
    for op, swaps in _TURN_OPS:
        d = op(d_swap if swaps else d_same)
        p = np.packbits(phash_of_pixels(op(p32))).view(">u8")[0]
        out.append((int(p), int(np.packbits(d[:, 1:] > d[:, :-1]).view(">u8")[0])))
    return out


def probe_hashes(im: Image.Image, own: tuple[int, int] | None = None) -> np.ndarray:
    """(N_SLOTS, 2) uint64: pHash and dHash of every probe of a decoded RGB image (as
    forensics.media.image.open_image returns it), in SLOTS order. `own` is the image's own
    (pHash, dHash) when already computed (any sign): the trim slot of an unframed picture."""
    out = np.zeros((N_SLOTS, 2), np.uint64)
    small = _work(im)
    box = border_box(small)
    if box is None:
        out[TRIM] = image_pair(im) if own is None else (own[0] & _MASK, own[1] & _MASK)
        work = small.convert("L")
    else:
        sx, sy = im.width / small.width, im.height / small.height
        base = im.crop((round(box[0] * sx), round(box[1] * sy), round(box[2] * sx), round(box[3] * sy)))
        out[TRIM] = image_pair(base)  # full draft pixels, comparable with an unframed copy's own hash
        work = small.crop(box).convert("L")
    a = np.asarray(work, dtype=np.float64)
    out[WIN0:WIN1] = window_hashes(a)
    out[CENTRE:ROT1] = centre_hashes(work)
    out[TURN0:TURN1] = turned_hashes(a)
    return out


def query_middles(im: Image.Image) -> np.ndarray:
    """(len(QUERY_ROTATIONS), 2) uint64: the middle of a query image (trimmed and reduced as
    in probe_hashes) turned by each of QUERY_ROTATIONS, for search by image only."""
    small = _work(im)
    box = border_box(small)
    work = (small if box is None else small.crop(box)).convert("L")
    return np.array(centre_hashes(work, QUERY_ROTATIONS), np.uint64).reshape(-1, 2)


def pack(probes: np.ndarray) -> bytes:
    """Bytes for the item_probes table (little-endian uint64, slot-major)."""
    return np.ascontiguousarray(probes, dtype="<u8").tobytes()


def unpack(blob: bytes) -> np.ndarray:
    """(N_SLOTS, 2) uint64 from pack()."""
    return np.frombuffer(blob, dtype="<u8").reshape(-1, 2).astype(np.uint64)
