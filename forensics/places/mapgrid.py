"""Map arithmetic for the workbench's map view, in numpy (no Qt): Web Mercator (the
projection of every tile set, MBTiles included), grid clustering of positions, and
country outlines simplified per zoom level.

Coordinates are "world units": the Web Mercator square as [0, 1) x [0, 1), x east and y
south; at zoom z the world is 256 * 2**z pixels wide, like slippy-map tiles.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

MAX_LAT = 85.0511287798  # where Web Mercator's square ends
TILE = 256
MAX_OUTLINE_LEVEL = 7  # Natural Earth 1:10m holds no detail finer than ~1 km, level 7's pixel


def project(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) world units of positions in degrees (latitudes clamped to the square)."""
    lat = np.clip(np.asarray(lat, np.float64), -MAX_LAT, MAX_LAT)
    x = (np.asarray(lon, np.float64) + 180.0) / 360.0
    s = np.sin(np.radians(lat))
    y = 0.5 - np.log((1 + s) / (1 - s)) / (4 * np.pi)
    return x, y


def unproject(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) in degrees of world units."""
    lon = np.asarray(x, np.float64) * 360.0 - 180.0
    lat = np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * np.asarray(y, np.float64)))))
    return lat, lon


def scale(zoom: float) -> float:
    """Pixels per world unit at `zoom`."""
    return TILE * 2.0 ** zoom


@dataclass(frozen=True)
class Clusters:
    """Positions grouped by grid cell: cluster k sits at (x[k], y[k]) (its members'
    mean) and holds `counts[k]` items, members(k) of them."""

    x: np.ndarray
    y: np.ndarray
    counts: np.ndarray
    order: np.ndarray  # indexes of the input points, grouped by cluster
    starts: np.ndarray  # cluster k's points are order[starts[k]:starts[k + 1]]

    def __len__(self) -> int:
        return len(self.counts)

    def members(self, k: int) -> np.ndarray:
        """Indexes (into the clustered points) of cluster k's members."""
        return self.order[self.starts[k]:self.starts[k + 1]]

    def visible(self, x0: float, y0: float, x1: float, y1: float, margin: float = 0.0) -> np.ndarray:
        """Indexes of the clusters inside a world-unit rectangle (with a margin)."""
        return np.flatnonzero((self.x >= x0 - margin) & (self.x <= x1 + margin)
                              & (self.y >= y0 - margin) & (self.y <= y1 + margin))


DEPTH = 26  # quadtree depth of the position codes: cells of ~0.6 m at the equator


def _spread(v: np.ndarray) -> np.ndarray:
    """Bits of v (< 2**26) moved to the even positions (Morton interleaving)."""
    v = v.astype(np.uint64) & np.uint64(0x3FFFFFF)
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF), (4, 0x0F0F0F0F0F0F0F0F),
                        (2, 0x3333333333333333), (1, 0x5555555555555555)):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


class QuadIndex:
    """Positions sorted once along a Morton (quadtree) curve. Every quadtree cell is then
    a contiguous run of the sorted codes, so clustering at any depth is one pass over
    the codes (no sort): 100,000 points cluster in about a millisecond per zoom level."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        n = 1 << DEPTH
        ix = np.clip((np.asarray(x) * n).astype(np.int64), 0, n - 1)
        iy = np.clip((np.asarray(y) * n).astype(np.int64), 0, n - 1)
        codes = _spread(ix) | (_spread(iy) << np.uint64(1))
        self.order = np.argsort(codes, kind="quicksort")
        self.codes = codes[self.order]
        self.x = np.asarray(x, np.float64)[self.order]
        self.y = np.asarray(y, np.float64)[self.order]
        self._cache: dict[int, Clusters] = {}

    def __len__(self) -> int:
        return len(self.codes)

    def clusters(self, depth: int) -> Clusters:
        """Clusters of the quadtree cells at `depth` (cells 2**-depth world units wide)."""
        depth = int(min(max(depth, 0), DEPTH))
        if depth not in self._cache:
            n = len(self.codes)
            if n == 0:
                empty = np.zeros(0)
                return Clusters(empty, empty, np.zeros(0, np.int64), self.order, np.zeros(1, np.int64))
            key = self.codes >> np.uint64(2 * (DEPTH - depth))
            starts = np.concatenate(([0], np.flatnonzero(key[1:] != key[:-1]) + 1, [n])).astype(np.int64)
            counts = np.diff(starts)
            cx = np.add.reduceat(self.x, starts[:-1]) / counts
            cy = np.add.reduceat(self.y, starts[:-1]) / counts
            self._cache[depth] = Clusters(cx, cy, counts, self.order, starts)
        return self._cache[depth]


def cluster_depth(zoom: int, cell_px: int = 64) -> int:
    """The quadtree depth whose cells are `cell_px` (a power of two) pixels at `zoom`."""
    return max(0, int(zoom) + 8 - int(np.log2(cell_px)))


@dataclass(frozen=True)
class Outlines:
    """Country rings in world units at one level of detail: ring k is
    xy[starts[k]:starts[k + 1]], with its bounding box in boxes[k] (x0, y0, x1, y1)."""

    xy: np.ndarray
    starts: np.ndarray
    boxes: np.ndarray

    def rings_in(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Indexes of the rings whose bounding box meets a world-unit rectangle."""
        b = self.boxes
        return np.flatnonzero((b[:, 2] >= x0) & (b[:, 0] <= x1) & (b[:, 3] >= y0) & (b[:, 1] <= y1))


_levels: dict[int, Outlines] = {}
_levels_lock = threading.Lock()


def outlines(level: int) -> Outlines:
    """The shipped country outlines (forensics.places.outlines) for zoom `level`:
    Douglas-Peucker simplified (shapely) to under a pixel at that zoom, rings smaller than
    a pixel left out. A world view then draws a few thousand points, not half a million.
    Computed once per process (0.2-0.5 s a level); the map warms them up in the background."""
    level = int(min(max(level, 0), MAX_OUTLINE_LEVEL))
    with _levels_lock:
        if level not in _levels:
            _levels[level] = _simplify(level)
        return _levels[level]


def outlines_ready(level: int, exact: bool = False) -> Outlines | None:
    """`outlines(level)` if already computed, else (unless `exact`) the finest coarser
    level that is; None when none is. What a paint may use without waiting."""
    level = int(min(max(level, 0), MAX_OUTLINE_LEVEL))
    for lv in range(level, -1 if not exact else level - 1, -1):
        found = _levels.get(lv)
        if found is not None:
            return found
    return None


def _simplify(level: int) -> Outlines:
    import shapely

    from forensics.places.outlines import countries

    c = countries()
    x, y = project(c.xy[:, 1], c.xy[:, 0])
    ring_of = np.repeat(np.arange(len(c.starts) - 1), np.diff(c.starts))
    pixel = 1.0 / scale(level)
    first = c.starts[:-1]
    width = np.maximum.reduceat(x, first) - np.minimum.reduceat(x, first)
    height = np.maximum.reduceat(y, first) - np.minimum.reduceat(y, first)
    big = np.maximum(width, height) >= pixel
    keep = big[ring_of]
    # shapely wants ring indexes 0..n-1 without gaps: number the kept rings afresh.
    renumbered = np.cumsum(big) - 1
    rings = shapely.linearrings(np.column_stack((x[keep], y[keep])), indices=renumbered[ring_of[keep]])
    simple = shapely.simplify(rings, 0.7 * pixel, preserve_topology=False)
    coords, index = shapely.get_coordinates(simple, return_index=True)
    if not len(coords):
        return Outlines(np.zeros((0, 2)), np.zeros(1, np.int64), np.zeros((0, 4)))
    starts = np.concatenate(([0], np.flatnonzero(np.diff(index)) + 1, [len(index)])).astype(np.int64)
    sx, sy = coords[:, 0], coords[:, 1]
    boxes = np.column_stack([np.minimum.reduceat(sx, starts[:-1]), np.minimum.reduceat(sy, starts[:-1]),
                             np.maximum.reduceat(sx, starts[:-1]), np.maximum.reduceat(sy, starts[:-1])])
    return Outlines(coords, starts, boxes)
