"""How a place reads, the same in the CLI, the workbench, the report and the KML."""
from __future__ import annotations


def place_name(place: dict | None) -> str:
    """'Paris, Île-de-France, France': the city (else the nearest locality), its region
    and the country the position lies in (or why there is none)."""
    if not place:
        return ""
    if place.get("status") == "invalid":
        return f"invalid GPS position ({place.get('note') or 'unusable'})"
    parts = [place.get("city") or place.get("locality"), place.get("state")]
    if parts[0] == parts[1]:  # Tokyo, Tokyo
        parts = parts[:1]
    parts.append(place.get("country") or "no country")
    return ", ".join(p for p in parts if p)


def place_text(item: dict) -> str:
    """One line for an item's place and time zone: 'Paris, Île-de-France, France (FR);
    nearest place Vanves, 3.9 km · Europe/Paris'. Empty when it has none (yet)."""
    place = item.get("place")
    if not place:
        return ""
    text = place_name(place)
    if place.get("status") == "invalid":
        return text
    if place.get("country_code"):
        text += f" ({place['country_code']})"
    locality, km = place.get("locality"), place.get("distance_km")
    if locality and locality != (place.get("city") or locality):
        text += f"; nearest place {locality}" + (f", {km:.1f} km" if km is not None else "")
    elif km is not None and km >= 1:
        text += f"; {km:.1f} km from {locality}'s centre"
    if place.get("note"):
        text += f" [{place['note']}]"
    if place.get("time_zone"):
        text += f" · {place['time_zone']}"
    return text


def zone_offset(time_zone: str | None, local_time: str | None) -> str | None:
    """The UTC offset of `time_zone` at a camera-local time ('UTC+02:00'), None when either
    is missing or unknown. This is what a camera clock set to local time would have meant:
    a hint for the examiner, not a recorded fact."""
    if not time_zone or not local_time:
        return None
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        dt = datetime.fromisoformat(local_time.strip()[:19]).replace(tzinfo=ZoneInfo(time_zone))
    except (ValueError, ZoneInfoNotFoundError, OSError):
        return None
    minutes = int(dt.utcoffset().total_seconds()) // 60  # type: ignore[union-attr]
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02}:{abs(minutes) % 60:02}"


def zone_hint(item: dict) -> str:
    """For a camera-local capture time without a zone, the offset the position's time zone
    had then ('UTC+02:00 if the camera clock was set to the time zone of the position'); empty
    otherwise. An inference for the examiner, never stored as the item's time."""
    place = item.get("place") or {}
    if item.get("taken_zone") != "local-unknown":
        return ""
    offset = zone_offset(place.get("time_zone"), item.get("taken_local") or item.get("taken_time"))
    return f"{offset} if the camera clock was set to the time zone of the position (an inference, not recorded)" \
        if offset else ""
