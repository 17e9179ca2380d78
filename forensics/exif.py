"""EXIF metadata with exifread: camera, capture time, GPS as decimal degrees. (The
orientation is read by the decoder, forensics.media.image, which applies it.)"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from typing import Any

from forensics.model import describe_error

MAX_TAGS = 400
MAX_VALUE_CHARS = 512


@dataclass
class ExifSummary:
    make: str | None = None
    model: str | None = None
    taken_time: str | None = None  # ISO 8601, camera local time (+offset when recorded)
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt: float | None = None
    tags: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)


def _ratio(v: Any) -> float:
    num = getattr(v, "num", None)
    den = getattr(v, "den", None)
    if num is not None and den is not None:
        if den == 0:
            raise ValueError("zero denominator")
        return num / den
    return float(v)


def _dms(tag: Any) -> float:
    vals = tag.values
    if len(vals) < 3:
        raise ValueError("GPS coordinate needs three values")
    d, m, s = (_ratio(x) for x in vals[:3])
    return d + m / 60.0 + s / 3600.0


def _iso(text: str, offset: str | None) -> str | None:
    text = text.strip().strip("\x00")
    if len(text) < 19 or text.startswith("0000"):
        return None
    iso = text[:10].replace(":", "-") + "T" + text[11:19]
    if offset and len(offset.strip()) == 6:
        iso += offset.strip()
    return iso


def time_fields(recorded: str | None, utc_if_naive: bool = False) -> dict[str, str | None]:
    """The items columns for a recorded time: `taken_utc` (the instant, for sorting and
    filtering), `taken_local`, `taken_offset` and `taken_zone` (see migration 0004).
    `utc_if_naive`: the format stores UTC (video containers), so no zone means UTC."""
    from datetime import datetime, timedelta, timezone

    if not recorded:
        return {}
    try:
        dt = datetime.fromisoformat(recorded.strip())
    except ValueError:
        return {}  # unparseable: kept as recorded, sorted by file time
    if dt.tzinfo is None and utc_if_naive:
        dt = dt.replace(tzinfo=timezone.utc)
    if dt.tzinfo is None:
        return {"taken_utc": dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "taken_local": dt.isoformat(timespec="seconds"),
                "taken_offset": None, "taken_zone": "local-unknown"}
    off = dt.utcoffset() or timedelta(0)
    minutes = int(off.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    offset = f"{sign}{abs(minutes) // 60:02}:{abs(minutes) % 60:02}"
    utc = dt.astimezone(timezone.utc)
    recorded_utc = utc_if_naive and minutes == 0
    return {"taken_utc": utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "taken_local": None if recorded_utc else dt.replace(tzinfo=None).isoformat(timespec="seconds"),
            "taken_offset": offset, "taken_zone": "utc" if recorded_utc else "offset"}


def _printable(v: Any) -> str:
    s = str(getattr(v, "printable", v))
    return s if len(s) <= MAX_VALUE_CHARS else s[:MAX_VALUE_CHARS] + "..."


def read_exif(data: bytes) -> ExifSummary:
    """Parse EXIF from a file's bytes. Damaged or absurd EXIF never raises: it is flagged."""
    import exifread

    out = ExifSummary()
    logging.getLogger("exifread").setLevel(logging.CRITICAL)
    try:
        tags = exifread.process_file(io.BytesIO(data), details=False, debug=False)
    except Exception as exc:  # exifread raises many kinds of errors on damaged blocks
        out.flags.append("exif_corrupt")
        out.tags["_error"] = f"{describe_error(exc)}"[:MAX_VALUE_CHARS]
        return out
    names = [k for k in tags if k not in ("JPEGThumbnail", "TIFFThumbnail")]
    if len(names) > MAX_TAGS:
        out.flags.append("exif_oversized")
        names = names[:MAX_TAGS]
    out.tags = {k: _printable(tags[k]) for k in names}

    def get(*keys: str) -> Any:
        for k in keys:
            if k in tags:
                return tags[k]
        return None

    if (v := get("Image Make")) is not None:
        out.make = _printable(v).strip() or None
    if (v := get("Image Model")) is not None:
        out.model = _printable(v).strip() or None
    dt = get("EXIF DateTimeOriginal", "EXIF DateTimeDigitized", "Image DateTime")
    off = get("EXIF OffsetTimeOriginal", "EXIF OffsetTime")
    if dt is not None:
        out.taken_time = _iso(_printable(dt), _printable(off) if off is not None else None)
    try:
        lat, lon = get("GPS GPSLatitude"), get("GPS GPSLongitude")
        if lat is not None and lon is not None:
            la, lo = _dms(lat), _dms(lon)
            if _printable(get("GPS GPSLatitudeRef") or "N").upper().startswith("S"):
                la = -la
            if _printable(get("GPS GPSLongitudeRef") or "E").upper().startswith("W"):
                lo = -lo
            if -90 <= la <= 90 and -180 <= lo <= 180 and not (la == 0 and lo == 0):
                out.gps_lat, out.gps_lon = round(la, 7), round(lo, 7)
            else:
                out.flags.append("gps_invalid")
        alt = get("GPS GPSAltitude")
        if alt is not None:
            a = _ratio(alt.values[0])
            ref = get("GPS GPSAltitudeRef")
            if ref is not None and ref.values and ref.values[0] == 1:
                a = -a
            out.gps_alt = round(a, 2)
    except Exception:
        out.flags.append("gps_invalid")
    return out
