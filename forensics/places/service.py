"""`case.places`: place names and time zones of GPS positions, and the KML export.

Looked up after ingest, as an analysis step (`Case.analyse`), not in the per-file worker:
the geocoders' data takes seconds and hundreds of MB to load, which a worker process per
core would each pay, and a case ingested before this step existed is back-filled by the
same step (every item whose GPS has no row, or a row for another position, is pending).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from forensics import browse
from forensics.browse import ItemFilter
from forensics.context import CaseContext
from forensics.model import Cancelled, Progress
from forensics.store.places_current import current_places_join
from forensics.store.queries import select_in

BATCH = 5000
PLACE_COLUMNS = ("status", "note", "locality", "city", "city_km", "state", "country", "country_code", "place_lat", "place_lon",
                 "distance_km", "time_zone", "geocoder", "computed_utc")
# Items whose position has no place yet, or whose place was looked up for another position.
_PENDING = (f"SELECT i.id, i.gps_lat, i.gps_lon FROM items i LEFT {current_places_join()}"
            " WHERE i.gps_lat IS NOT NULL AND i.gps_lon IS NOT NULL AND p.item_id IS NULL")


class PlaceService:
    """Offline reverse geocoding of a case's GPS positions. Built lazily as `case.places`."""

    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx

    def pending(self) -> int:
        """How many positions have no (current) place name yet."""
        return int(self.ctx.store.scalar(f"SELECT COUNT(*) FROM ({_PENDING})"))

    def update(self, progress: Callable[[Progress], None] | None = None,
               cancel: threading.Event | None = None) -> dict:
        """Look up every pending position (see the module docstring) and store its place
        and time zone; audited as 'places.update' with the geocoders' data versions."""
        from forensics.places import geocode

        store = self.ctx.store
        with store.write() as w:  # positions removed by a re-ingest leave no stale place behind
            gone = w.execute("DELETE FROM item_places WHERE item_id IN (SELECT p.item_id FROM item_places p"
                             " JOIN items i ON i.id = p.item_id WHERE i.gps_lat IS NULL OR i.gps_lon IS NULL)").rowcount
        todo = store.query(_PENDING)
        if not todo:
            return {"skipped": "every position has a place name", "removed": gone}
        version = geocode.version()
        done = invalid = 0
        countries: set[str] = set()
        for start in range(0, len(todo), BATCH):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            batch = todo[start:start + BATCH]
            places = geocode.locate([(r[1], r[2]) for r in batch])
            now = self.ctx.now()
            rows = []
            for r, p in zip(batch, places):
                invalid += p.status != "ok"
                if p.country_code:
                    countries.add(p.country_code)
                rows.append((r[0], r[1], r[2], p.status, p.note, p.locality, p.city, p.city_km, p.state, p.country,
                             p.country_code, p.place_lat, p.place_lon, p.distance_km, p.time_zone, version, now))
            with store.write() as w:
                w.executemany("INSERT OR REPLACE INTO item_places (item_id, lat, lon, " + ", ".join(PLACE_COLUMNS)
                              + f") VALUES ({', '.join('?' * (3 + len(PLACE_COLUMNS)))})", rows)
            done += len(batch)
            if progress is not None:
                progress(Progress(done=done, total=len(todo), message="naming places"))
        result = {"looked_up": done, "invalid": invalid, "countries": len(countries), "removed": gone}
        self.ctx.log("places.update", {"geocoder": version}, result)
        return result

    def place(self, item_id: int) -> dict | None:
        """The stored place of one item (None when it has no GPS, or it is still pending)."""
        rows = self.places([item_id])
        return rows.get(int(item_id))

    def places(self, item_ids: Iterable[int]) -> dict[int, dict]:
        """Stored places of many items, by id (items without one are left out)."""
        sql = f"SELECT item_id, lat, lon, {', '.join(PLACE_COLUMNS)} FROM item_places WHERE item_id IN ({{ids}})"
        return {r["item_id"]: dict(r) for r in select_in(self.ctx.store.read, sql, sorted({int(i) for i in item_ids}))}

    def summary(self) -> dict:
        """Counts by country and place, invalid positions, what is pending, and the
        geocoders that answered (for the report)."""
        q, scalar = self.ctx.store.query, self.ctx.store.scalar
        places = f"FROM items i {current_places_join()}"  # only places of the positions items have now
        return {
            "positions": int(scalar("SELECT COUNT(*) FROM items WHERE gps_lat IS NOT NULL")),
            "pending": self.pending(),
            "invalid": int(scalar(f"SELECT COUNT(*) {places} WHERE p.status = 'invalid'")),
            "outside_countries": int(scalar(f"SELECT COUNT(*) {places} WHERE p.status = 'ok' AND p.country_code IS NULL")),
            "countries": [{"code": r[0], "name": r[1], "count": r[2]} for r in q(
                f"SELECT p.country_code, MAX(p.country), COUNT(*) {places} WHERE p.country_code IS NOT NULL"
                " GROUP BY p.country_code ORDER BY 3 DESC, 2")],
            "places": [{"name": r[0], "country_code": r[1], "time_zone": r[2], "count": r[3]} for r in q(
                f"SELECT COALESCE(p.city, p.locality), p.country_code, MAX(p.time_zone), COUNT(*) {places}"
                " WHERE COALESCE(p.city, p.locality) IS NOT NULL GROUP BY 1, 2 ORDER BY 4 DESC, 1")],
            "geocoders": [r[0] for r in q(f"SELECT DISTINCT p.geocoder {places} ORDER BY 1")],
        }

    def positions(self, filters: ItemFilter = ItemFilter()):
        """(ids, lat, lon) arrays for the map (see forensics.browse.positions)."""
        return browse.positions(self.ctx, filters)

    def export_kml(self, out: str | os.PathLike, filters: ItemFilter = ItemFilter(kinds=()),
                   ids: Iterable[int] | None = None) -> dict:
        """Write the positions of the items matching `filters` (or of `ids`) as KML 2.2, one
        placemark each, and record the file's SHA-256 in the audit log ('export.kml')."""
        from forensics.hashing.digests import sha256_file
        from forensics.places.kml import write_kml

        if ids is not None:
            from dataclasses import replace

            filters = replace(filters, ids=tuple(int(i) for i in ids))
        item_ids, _, _ = browse.positions(self.ctx, filters)
        out = Path(out)
        result = write_kml(self.ctx, out, item_ids.tolist())
        result["sha256"] = sha256_file(out)
        self.ctx.log("export.kml", {"out": str(out.resolve()), "items": len(item_ids)}, result)
        return result
