"""Known answers: our pHash/dHash are imagehash's, bit for bit, on real photos and frames."""
from __future__ import annotations

import imagehash
import numpy as np
import pytest
from PIL import Image

from forensics.hashing.perceptual import from_hex, hamming, image_hashes, to_hex
from forensics.media.image import open_image_file


def _imagehash_ints(im: Image.Image) -> tuple[int, int]:
    g = im.convert("L")
    return (from_hex(str(imagehash.phash(g))), from_hex(str(imagehash.dhash(g))))


def _images(shared_data):
    for p in sorted((shared_data / "faces").rglob("*")):
        if p.suffix.lower() in (".jpg", ".jpeg", ".png"):
            yield p.name, open_image_file(str(p)).image
    from forensics.media.video import open_video, probe, sample_frames

    for v in sorted((shared_data / "video").iterdir()):
        c = open_video(str(v))
        for fr in sample_frames(c, probe(c)):
            yield f"{v.name}@{fr.time}", fr.image
        c.close()
    rng = np.random.default_rng(11)
    for i in range(40):
        arr = rng.integers(0, 255, (int(rng.integers(20, 400)), int(rng.integers(20, 400)), 3), dtype=np.uint8)
        yield f"noise{i}", Image.fromarray(arr)


def test_hashes_are_imagehash_bit_for_bit(shared_data):
    n = 0
    for name, im in _images(shared_data):
        h = image_hashes(im)
        assert (h["phash"], h["dhash"]) == _imagehash_ints(im), name
        n += 1
    assert n > 120


def test_known_answer_astronaut():
    from skimage import data

    h = image_hashes(Image.fromarray(data.astronaut()))
    assert (to_hex(h["phash"]), to_hex(h["dhash"])) == tuple(
        str(f(Image.fromarray(data.astronaut()).convert("L"))) for f in (imagehash.phash, imagehash.dhash))


@pytest.mark.parametrize("a,b,d", [(0, 0, 0), (-1, 0, 64), (1, 3, 1), (from_hex("8000000000000000"), 0, 1)])
def test_hamming(a, b, d):
    assert hamming(a, b) == d
