"""A user's own MBTiles file as a detailed base map (as Autopsy offers): SQLite with a
`metadata` table and raster tiles in `tiles(zoom_level, tile_column, tile_row,
tile_data)`, rows counted from the south (TMS), so row = 2**z - 1 - y of the usual
north-first tile numbering. Opened read-only; never written."""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from forensics.model import CaseError


class MBTiles:
    """Tiles and metadata of one .mbtiles file."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise CaseError(f"{self.path} is not a file")
        self._local = threading.local()  # the map reads tiles from the GUI thread and workers
        try:
            conn = self._conn()
            self.metadata = {str(k): str(v) for k, v in conn.execute("SELECT name, value FROM metadata")}
            zooms = conn.execute("SELECT MIN(zoom_level), MAX(zoom_level), COUNT(*) FROM tiles").fetchone()
        except sqlite3.DatabaseError as exc:
            raise CaseError(f"{self.path} is not an MBTiles file ({exc})") from None
        if not zooms or zooms[2] == 0:
            raise CaseError(f"{self.path} holds no tiles")
        fmt = self.metadata.get("format", "png").lower()
        if fmt not in ("png", "jpg", "jpeg", "webp"):
            raise CaseError(f"{self.path} holds {fmt} tiles; only raster tiles (png, jpg, webp) can be shown")
        self.min_zoom, self.max_zoom, self.tile_count = int(zooms[0]), int(zooms[1]), int(zooms[2])
        self.format = fmt

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            uri = "file:" + str(self.path.resolve()) + "?mode=ro&immutable=1"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._local.conn = conn
        return conn

    @property
    def name(self) -> str:
        return self.metadata.get("name") or self.path.stem

    @property
    def description(self) -> str:
        """What the UI names: the tile set's name, its file, zoom range and attribution."""
        attribution = self.metadata.get("attribution")
        return (f"MBTiles '{self.name}' ({self.path.name}, zoom {self.min_zoom}-{self.max_zoom})"
                + (f", {attribution}" if attribution else ""))

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The encoded image of tile (z, x, y) in north-first numbering, or None."""
        row = self._conn().execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (int(z), int(x), (1 << int(z)) - 1 - int(y))).fetchone()
        return bytes(row[0]) if row and row[0] else None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
