"""CSV of the selected items, one row per item, for spreadsheets."""
from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

COLUMNS = ("item_id", "path", "kind", "mime", "size", "md5", "sha1", "sha256", "phash", "dhash",
           "width", "height", "duration", "frame_time", "mtime_utc", "taken_time", "taken_utc", "taken_zone", "camera", "gps_lat", "gps_lon",
           "gps_alt", "place", "country_code", "time_zone", "category", "category_name", "bookmarked", "tags", "note", "faces", "hash_set_matches",
           "copy_group", "copy_group_size", "flags", "errors", "signed_audit_head")


def _row(it: dict) -> list:
    g = it.get("copy_group") or {}
    matches = "; ".join(
        f"{m['set']}" + (f" (category {m['category']})" if m.get("category") is not None else "")
        for m in it.get("hash_matches") or [])
    values = {
        "item_id": it["id"], "camera": it.get("camera"), "category_name": it.get("category_name"),
        "bookmarked": int(bool(it.get("bookmarked"))), "tags": "; ".join(it.get("tags") or []),
        "hash_set_matches": matches, "copy_group": g.get("id"), "copy_group_size": g.get("size"),
        "flags": " ".join(it.get("flags") or []),
        "place": it.get("place_text"), "country_code": (it.get("place") or {}).get("country_code"),
        "time_zone": (it.get("place") or {}).get("time_zone"),
        "errors": "; ".join(f"{e['stage']}: {e['message']}" for e in it.get("errors") or []),
    }
    return [values[c] if c in values else it.get(c) for c in COLUMNS[:-1]]


def _safe_cell(v) -> object:
    # A cell starting with = + - @ is run as a formula by spreadsheets; evidence file
    # names are attacker-controlled, so such text is prefixed with a quote.
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return "" if v is None else v


def write_csv(out: Path, items: Iterable[dict], signed_head: str = "") -> int:
    """Write one row per item (UTF-8 with BOM so spreadsheets pick the encoding); returns rows.
    The first row's last cell carries the signed audit head at export (`audit verify --witness`)."""
    n = 0
    with open(out, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for it in items:
            w.writerow([_safe_cell(v) for v in _row(it)] + [signed_head if n == 0 else ""])
            n += 1
    return n
