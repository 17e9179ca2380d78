"""Captioned copies (issue 17): ORB keypoints spread over the picture, caption bands left
out of the agreement test, and another shot of the same scene still apart."""
from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from forensics.copies import keypoints as K
from forensics.media.image import open_image


@lru_cache(maxsize=None)
def _photo(name: str) -> Image.Image:
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


def _decoded(im: Image.Image, q: int = 85) -> Image.Image:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=q)
    return open_image(buf.getvalue()).image


def _meme(im: Image.Image, top: str, bottom: str) -> Image.Image:
    """Bold white text with a black outline at the top and bottom, 1/9 of the height."""
    out = im.copy()
    d = ImageDraw.Draw(out)
    size = out.height // 9
    font = ImageFont.load_default(size=size)
    for text, y in ((top, out.height // 50), (bottom, out.height - size * 13 // 10)):
        x = (out.width - font.getlength(text)) / 2
        d.text((x, y), text, font=font, fill=(255, 255, 255), stroke_width=max(1, size // 12), stroke_fill=(0, 0, 0))
    return out


def _news_band(im: Image.Image, lines: list[str]) -> Image.Image:
    """An opaque band along the bottom with left-aligned white text, a third of the height."""
    out = im.copy()
    d = ImageDraw.Draw(out)
    size = out.height // 12
    band = out.height // 3
    d.rectangle((0, out.height - band, out.width, out.height), fill=(180, 20, 30))
    font = ImageFont.load_default(size=size)
    for k, text in enumerate(lines):
        d.text((out.width // 30, out.height - band + size // 3 + k * size * 6 // 5), text, font=font, fill=(255, 255, 255))
    return out


def _orb_plain(im: Image.Image) -> K.Features:
    """The first round's features: ORB's own strongest N_FEATURES corners, no spreading."""
    factor = K.DETECT_FACTOR
    K.DETECT_FACTOR = 1
    try:
        return K.features(im)
    finally:
        K.DETECT_FACTOR = factor


CAPTIONS = {
    "meme": lambda im: _meme(im, "WHEN THE COFFEE IS READY", "NOBODY: ME AT 12:41 #VIRAL"),
    "band": lambda im: _news_band(im, ["breaking news: police said today", "live update 2024-05-17 court video"]),
}


def _small(name: str) -> Image.Image:
    """A picture at 250 px wide (the size of a shared face chip, where a caption's letters
    are the strongest corners there are)."""
    im = _photo(name)
    return _decoded(im.resize((250, 250 * im.height // im.width), Image.Resampling.LANCZOS), 90)


@pytest.mark.parametrize("name", ["rocket", "coffee"])
@pytest.mark.parametrize("style", sorted(CAPTIONS))
def test_captioned_copy_is_confirmed_in_both_directions(style: str, name: str) -> None:
    orig = _small(name)
    cap = _decoded(CAPTIONS[style](orig), 75)
    a, b = K.features(orig), K.features(cap)
    for c in (K.compare(a, b), K.compare(b, a)):
        assert K.is_copy(c), (style, name, c)
    if (style, name) == ("band", "rocket"):
        # The first round's features lose this one: the band's letters took the keypoints.
        assert not K.is_copy(K.compare(_orb_plain(orig), _orb_plain(cap)))


def test_spreading_keeps_keypoints_on_the_picture_under_a_caption() -> None:
    orig = _small("rocket")
    cap = _decoded(CAPTIONS["meme"](orig), 75)
    h = cap.height * K.WORK_SIZE / max(cap.size)
    # Rows outside the meme's two text blocks (1/9 of the height each, plus outline).
    middle = lambda f: int(np.sum((f.points[:, 1] > 0.16 * h) & (f.points[:, 1] < 0.84 * h)))  # noqa: E731
    spread, plain = K.features(cap), _orb_plain(cap)
    assert len(spread) == K.N_FEATURES >= len(plain)
    assert middle(spread) > 1.5 * middle(plain), (middle(spread), middle(plain))
    assert K.compare(K.features(orig), spread).inliers > 1.5 * K.compare(_orb_plain(orig), plain).inliers


def test_spread_gives_every_cell_its_share_first() -> None:
    import cv2

    rng = np.random.default_rng(3)
    # 400 strong corners in the top-left cell, 40 weak ones in each other cell.
    kps = [cv2.KeyPoint(float(x), float(y), 31, -1, float(r)) for x, y, r in
           zip(rng.uniform(0, 79, 400), rng.uniform(0, 59, 400), rng.uniform(50, 100, 400))]
    for cy in range(4):
        for cx in range(4):
            if cx or cy:
                kps += [cv2.KeyPoint(float(cx * 80 + x), float(cy * 60 + y), 31, -1, float(r)) for x, y, r in
                        zip(rng.uniform(0, 79, 40), rng.uniform(0, 59, 40), rng.uniform(1, 10, 40))]
    out = K.spread(kps, (240, 320), 320)
    cells = np.bincount([min(3, int(k.pt[1] // 60)) * 4 + min(3, int(k.pt[0] // 80)) for k in out], minlength=16)
    assert len(out) == 320 and all(c >= 320 // 16 for c in cells)
    # The share of each cell is its strongest, the rest the strongest overall.
    assert cells[0] == 320 - 15 * 20
    assert min(k.response for k in out if k.pt[0] < 80 and k.pt[1] < 60) >= sorted(
        (k.response for k in kps[:400]), reverse=True)[cells[0] - 1]
    assert K.spread(kps[:100], (240, 320), 320) == kps[:100]


def _grid(rows: dict[int, float], base: float = 0.999) -> np.ndarray:
    g = np.full((8, 8), base)
    for r, v in rows.items():
        g[r] = v
    return g


def test_unoccluded_takes_caption_bands_out_and_nothing_else() -> None:
    # A meme: top row and bottom two rows covered, the rest pixel for pixel.
    u, n = K.unoccluded(_grid({0: 0.3, 6: 0.2, 7: 0.4}))
    assert n == 3 and u == pytest.approx(0.999)
    # A band of 4 rows in the middle (a subtitle block): one run.
    assert K.unoccluded(_grid({2: 0.1, 3: 0.2, 4: 0.3, 5: 0.5}))[0] == pytest.approx(0.999)
    # An opaque band has no textured blocks: the text rows around it are one run.
    g = _grid({5: 0.3, 7: 0.4})
    g[6] = np.nan
    assert K.unoccluded(g) == (pytest.approx(0.999), 2)
    # Nothing covered: the plain median decides.
    assert K.unoccluded(_grid({3: 0.93})) == (None, 0)
    # Three separate strips, or more than half of the rows: not a caption.
    assert K.unoccluded(_grid({0: 0.2, 3: 0.2, 6: 0.2}))[0] is None
    assert K.unoccluded(_grid({0: 0.2, 1: 0.2, 2: 0.2, 6: 0.2, 7: 0.2}))[0] is None
    # Too few textured blocks left to judge.
    g = _grid({0: 0.2, 7: 0.2})
    g[1:7, 2:] = np.nan
    assert K.unoccluded(g)[0] is None
    # A moving subject: low blocks scattered over many rows, the rest of the scene close
    # but not identical. Rows whose median stays high are not covered, and what is left
    # does not reach the caption path's stricter bar.
    rng = np.random.default_rng(5)
    g = np.clip(rng.normal(0.96, 0.015, (8, 8)), -1, 1)
    g[7] = rng.uniform(0.6, 0.88, 8)
    u, n = K.unoccluded(g)
    assert n == 1 and u < K.MIN_UNOCCLUDED and not K.agrees(float(np.median(g)), u)


def test_caption_rule_keeps_another_shot_of_the_scene_apart() -> None:
    """Two frames of one scene where the subject moved across the lower rows (a burst):
    many keypoints fit one similarity, but outside the moved rows the pictures are not the
    same pixels, so neither the plain nor the caption agreement accepts them."""
    base = _decoded(_photo("astronaut"), 90)
    a = np.asarray(base, dtype=np.float64)
    other = a.copy()
    h, w = a.shape[:2]
    # The lower part moves 6 px right, and the light changes a little everywhere.
    other[h * 5 // 8:, 6:] = a[h * 5 // 8:, :-6]
    other = np.clip(other * 1.03 + np.random.default_rng(1).normal(0, 6, other.shape), 0, 255)
    shot = _decoded(Image.fromarray(other.astype(np.uint8)), 90)
    c = K.compare(K.features(base), K.features(shot))
    assert c is not None and c.inliers >= K.MIN_INLIERS
    assert not K.is_copy(c), c


def test_block_agreement_equals_the_block_by_block_correlations() -> None:
    a = K.features(_small("rocket"))
    b = K.features(_decoded(CAPTIONS["band"](_small("coffee")), 75))
    rng = np.random.default_rng(2)
    for k in range(12):
        other = a if k % 2 else b
        ang, sc = rng.uniform(-0.2, 0.2), rng.uniform(0.85, 1.15)
        model = np.array([[sc * np.cos(ang), -sc * np.sin(ang), rng.uniform(-30, 30)],
                          [sc * np.sin(ang), sc * np.cos(ang), rng.uniform(-30, 30)]])
        got = K.block_agreement(a, other, model)
        # The definition, block by block: the overlap's blocks with texture on both sides.
        x_all, y_all, valid = K.aligned(a, other, model)
        h, w = x_all.shape
        for i in range(8):
            for j in range(8):
                sl = (slice(i * h // 8, (i + 1) * h // 8), slice(j * w // 8, (j + 1) * w // 8))
                x, y = x_all[sl].ravel().astype(np.float64), y_all[sl].ravel().astype(np.float64)
                if valid[sl].mean() < 0.9 or x.std() < 3 or y.std() < 3:
                    assert np.isnan(got[i, j]), (k, i, j)
                else:
                    assert got[i, j] == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-9), (k, i, j)


def test_search_gives_the_upright_query_a_chance_when_the_turned_hash_was_nearest(tmp_path) -> None:
    """A caption moves the upright hash, and a near-symmetric picture's turned hash can then
    be the nearest: verification must not judge the copy only by that wrong turn."""
    from forensics.case import Case
    from forensics.copies.matrix import ScanHit
    from forensics.ingest.records import IngestOptions

    ev = tmp_path / "ev"
    ev.mkdir()
    orig = _small("rocket")
    for name, im in (("orig.jpg", orig), ("caption.jpg", CAPTIONS["band"](orig)), ("other.jpg", _small("coffee"))):
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=85)
        (ev / name).write_bytes(buf.getvalue())
    case = Case.create(tmp_path / "case", name="t", number="1", examiner="ex", authority="warrant 7")
    try:
        case.ingest([ev], IngestOptions(workers=1, thumbnails=False))
        ids = {i["path"].rsplit("/", 1)[-1]: i["id"] for i in case.items()}
        q = case.copies.query_hashes(item_id=ids["orig.jpg"])
        hits = [ScanHit(0, ids["caption.jpg"], 16, 13, 7), ScanHit(1, ids["other.jpg"], 16, 13, 7)]
        kept, rejected, evidence = case.copies._verify_hits(hits, q, ids["orig.jpg"], True)
        assert [(h.item_id, h.variant) for h in kept] == [(ids["caption.jpg"], 0)] and rejected == 1
        assert evidence[ids["caption.jpg"]]["inliers"] >= K.MIN_INLIERS
    finally:
        case.close()
