"""When a stored place is its item's: one rule for every reader of `item_places`.

A row of `item_places` keeps the position it was looked up for (`lat`, `lon`). The item's
GPS may change after that (a re-ingest reads corrected EXIF, or none), and until the places
step runs again the row names the place of another position, or of none. Such a row is
not the item's place: the catalogue's item records, the gallery's country and place
filters and facets, the KML export, the report's summary and the places step's pending
list all apply this same test.
"""
from __future__ import annotations


def current_place_sql(place: str = "p", item: str = "i") -> str:
    """SQL that is true when the `item_places` row aliased `place` was looked up for the
    position the `items` row aliased `item` has now (false when that has no GPS)."""
    return f"({place}.lat = {item}.gps_lat AND {place}.lon = {item}.gps_lon)"


def current_places_join(place: str = "p", item: str = "i") -> str:
    """`JOIN item_places` onto `items` keeping only current places (see the module)."""
    return f"JOIN item_places {place} ON {place}.item_id = {item}.id AND {current_place_sql(place, item)}"
