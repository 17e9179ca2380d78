"""Deciding copy candidates: local features first, the fine hash where they cannot decide.

Search and grouping use this one rule (forensics.copies.keypoints): a candidate is a copy
when ORB matches between the two pictures fit one similarity transform with at least
MIN_INLIERS inliers. When either picture has too few keypoints for the count to mean
anything (tiny, flat or heavily blurred pictures), the 256-bit fine hash of
forensics.copies.verify decides as before. When the pixels cannot be read at all, the
64-bit rule that proposed the candidate stands.
"""
from __future__ import annotations

from collections import OrderedDict

from PIL import Image

from forensics.context import CaseContext
from forensics.copies import keypoints as K
from forensics.hashing.windows import TURNS

CACHE_ITEMS = 2048  # ~20 KiB of features each


class Confirmer:
    """Features of case items, computed on first use and kept in a bounded memory cache."""

    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx
        self._cache: OrderedDict[int, K.Features | None] = OrderedDict()
        self._images: OrderedDict[int, Image.Image | None] = OrderedDict()

    def image(self, item_id: int) -> Image.Image | None:
        from forensics.copies.pixels import item_image

        if item_id in self._images:
            self._images.move_to_end(item_id)
            return self._images[item_id]
        im = item_image(self.ctx, item_id)
        self._images[item_id] = im
        while len(self._images) > 64:
            self._images.popitem(last=False)
        return im

    def features(self, item_id: int, turn: int | None = None) -> K.Features | None:
        """ORB features of an item's pixels, turned by TURNS[turn] when given."""
        key = item_id if turn is None else -(item_id * 8 + turn + 1)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        im = self.image(item_id)
        f = None if im is None else K.features(im if turn is None else im.transpose(TURNS[turn]))
        self._cache[key] = f
        while len(self._cache) > CACHE_ITEMS:
            self._cache.popitem(last=False)
        return f

    def pair(self, a: int, b: int, turn_a: int | None = None) -> K.Comparison | None:
        """Item a (turned by TURNS[turn_a]) compared with item b."""
        return K.compare(self.features(a, turn_a), self.features(b))
