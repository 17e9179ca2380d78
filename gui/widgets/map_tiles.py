"""The map's base layer as 256-pixel tiles: the shipped country outlines rendered on
demand, or the user's MBTiles file where it has tiles (outlines elsewhere, and its deepest
tiles enlarged past its last zoom level). Tiles are cached, so panning only blits images."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPolygonF

from forensics.places import mapgrid
from forensics.places.mbtiles import MBTiles

WATER = QColor("#b7d3e6")
LAND = QColor("#f4f1ea")
BORDER = QColor("#8a8275")
CACHE_TILES = 600  # ~150 MB of 256x256 ARGB at most


def polygon(points: np.ndarray) -> QPolygonF:
    """A QPolygonF over an (n, 2) float array, filled through its buffer (no per-point calls)."""
    poly = QPolygonF()
    poly.resize(len(points))
    buf = poly.data()
    buf.setsize(16 * len(points))
    np.frombuffer(buf, np.float64).reshape(-1, 2)[:] = points
    return poly


class BaseTiles:
    """Tiles of the base layer by (z, x, y), north-first numbering."""

    def __init__(self) -> None:
        self.mbtiles: MBTiles | None = None
        self._cache: OrderedDict[tuple[int, int, int], QImage] = OrderedDict()

    def set_mbtiles(self, mb: MBTiles | None) -> None:
        if self.mbtiles is not None:
            self.mbtiles.close()
        self.mbtiles = mb
        self._cache.clear()

    def description(self, zoom: int | None = None) -> str:
        """Which base layer is shown (at `zoom`, when given)."""
        from forensics.places.outlines import describe

        outlines = f"country outlines: {describe()}"  # not the outlines themselves: a label needs no polygons
        mb = self.mbtiles
        if mb is None:
            return f"Base map: {outlines}"
        if zoom is not None and zoom < mb.min_zoom:
            return f"Base map: {outlines} (your MBTiles starts at zoom {mb.min_zoom})"
        enlarged = f", enlarged from zoom {mb.max_zoom}" if zoom is not None and zoom > mb.max_zoom else ""
        return f"Base map: {mb.description}{enlarged}; {outlines} where it has no tiles"

    def cached(self, z: int, x: int, y: int) -> QImage | None:
        img = self._cache.get((z, x, y))
        if img is not None:
            self._cache.move_to_end((z, x, y))
        return img

    def tile(self, z: int, x: int, y: int) -> QImage:
        """Tile (z, x, y), rendered or read now if it is not cached. A tile drawn from
        coarser outlines (the level it needs is still being prepared) is not cached."""
        img = self.cached(z, x, y)
        if img is not None:
            return img
        img = self._from_mbtiles(z, x, y) if self.mbtiles is not None else None
        final = True
        if img is None:
            img, final = outline_tile(z, x, y)
        if final:
            self._cache[(z, x, y)] = img
            if len(self._cache) > CACHE_TILES:
                self._cache.popitem(last=False)
        return img

    def placeholder(self, z: int, x: int, y: int) -> QImage | None:
        """A quarter of the cached parent tile, enlarged: shown while tile (z, x, y) waits."""
        for dz in range(1, min(z, 4) + 1):
            parent = self.cached(z - dz, x >> dz, y >> dz)
            if parent is not None:
                side = mapgrid.TILE >> dz
                sx, sy = (x - ((x >> dz) << dz)) * side, (y - ((y >> dz) << dz)) * side
                return parent.copy(sx, sy, side, side).scaled(mapgrid.TILE, mapgrid.TILE)
        return None

    def _from_mbtiles(self, z: int, x: int, y: int) -> QImage | None:
        mb = self.mbtiles
        assert mb is not None
        if z < mb.min_zoom:
            return None
        if z <= mb.max_zoom:
            return _decode(mb.tile(z, x, y))
        dz = z - mb.max_zoom  # past the file's last level: enlarge the part of its deepest tile
        parent = _decode(mb.tile(mb.max_zoom, x >> dz, y >> dz))
        if parent is None:
            return None
        side = mapgrid.TILE >> dz if dz < 8 else 1
        sx, sy = (x - ((x >> dz) << dz)) * side, (y - ((y >> dz) << dz)) * side
        return parent.copy(sx, sy, side, side).scaled(mapgrid.TILE, mapgrid.TILE,
                                                      Qt.AspectRatioMode.IgnoreAspectRatio,
                                                      Qt.TransformationMode.SmoothTransformation)


def _decode(data: bytes | None) -> QImage | None:
    if not data:
        return None
    img = QImage.fromData(data)
    if img.isNull():
        return None
    if img.size().width() != mapgrid.TILE:
        img = img.scaled(mapgrid.TILE, mapgrid.TILE)
    return img.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)


def outline_tile(z: int, x: int, y: int) -> tuple[QImage, bool]:
    """Render one tile of the country outlines: land over water, borders as lines. Returns
    the image and whether it used the detail its zoom needs (False: a coarser level)."""
    img = QImage(mapgrid.TILE, mapgrid.TILE, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(WATER)
    s = mapgrid.scale(z)
    x0, y0 = x * mapgrid.TILE / s, y * mapgrid.TILE / s
    x1, y1 = (x + 1) * mapgrid.TILE / s, (y + 1) * mapgrid.TILE / s
    level = min(z, mapgrid.MAX_OUTLINE_LEVEL)
    out = mapgrid.outlines_ready(level)
    final = out is not None and out is mapgrid.outlines_ready(level, exact=True)
    if out is None:
        out = mapgrid.outlines(0)  # a few thousand points: the one level worth waiting for
    rings = out.rings_in(x0, y0, x1, y1)
    if not len(rings):
        return img, final
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(BORDER, 0.8)
    pen.setCosmetic(True)
    p.setPen(pen)
    p.setBrush(QBrush(LAND))
    offset = np.array([x * mapgrid.TILE, y * mapgrid.TILE], np.float64)
    for k in rings.tolist():
        pts = out.xy[out.starts[k]:out.starts[k + 1]] * s - offset
        p.drawPolygon(polygon(pts))
    p.end()
    return img, final


def draw_tiles(p: QPainter, tiles: BaseTiles, zoom: int, left: float, top: float, width: int, height: int,
               budget_s: float = 0.02) -> int:
    """Draw the tiles covering the view whose top-left corner is world pixel (left, top).
    Tiles not cached are rendered until `budget_s` is spent; the rest show their parent
    enlarged (or water) and are counted in the return value, for the caller to paint again."""
    import time

    n = 1 << zoom
    t = mapgrid.TILE
    p.fillRect(QRectF(0, 0, width, height), WATER)
    end = time.perf_counter() + budget_s
    waiting = 0
    for ty in range(max(0, int(top // t)), min(n, int((top + height) // t) + 1)):
        for tx in range(max(0, int(left // t)), min(n, int((left + width) // t) + 1)):
            img = tiles.cached(zoom, tx, ty)
            if img is None and time.perf_counter() < end:
                img = tiles.tile(zoom, tx, ty)
            if img is None:
                waiting += 1
                img = tiles.placeholder(zoom, tx, ty)
            if img is not None:
                p.drawImage(QPointF(tx * t - left, ty * t - top), img)
    return waiting
