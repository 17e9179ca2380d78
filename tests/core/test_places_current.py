"""A stored place whose position the item no longer has (GPS corrected or cleared by a
re-ingest, the places step not run since) is not the item's place anywhere: the gallery's
country and place filters and facets, the KML rows and the report's summary answer as the
catalogue's item record does."""
from __future__ import annotations

from pathlib import Path

import pytest

from forensics import browse
from forensics.browse import NO_COUNTRY, ItemFilter
from forensics.case import Case

PARIS = (48.8566, 2.3522, "Paris", "France", "FR")
TOKYO = (35.6762, 139.6503, "Tokyo", "Japan", "JP")


@pytest.fixture()
def case(tmp_path: Path) -> Case:
    c = Case.create(tmp_path / "case", name="Places", number="P-2", examiner="Tester", authority="Warrant 2")
    yield c
    c.close()


def _setup(case: Case) -> dict[str, int]:
    """Four photos named in Paris or Tokyo; then one's GPS is corrected, one's cleared."""
    ids = {}
    with case.store.write() as w:
        w.execute("INSERT INTO sources (path, path_raw, added_utc, added_by) VALUES ('/ev', X'2F6576', 'now', 'x')")
        for name, (lat, lon, city, country, code) in (("kept", PARIS), ("moved", PARIS), ("cleared", PARIS),
                                                      ("tokyo", TOKYO)):
            ids[name] = w.execute("INSERT INTO items (kind, source_id, relpath, relpath_raw, size, ingested_utc,"
                                  " gps_lat, gps_lon) VALUES ('image', 1, ?, ?, 1, 'now', ?, ?)",
                                  (f"{name}.jpg", f"{name}.jpg".encode(), lat, lon)).lastrowid
            w.execute("INSERT INTO item_places (item_id, lat, lon, status, locality, city, country, country_code,"
                      " time_zone, geocoder, computed_utc) VALUES (?, ?, ?, 'ok', ?, ?, ?, ?, 'Europe/Paris', 'test',"
                      " 'now')", (ids[name], lat, lon, city, city, country, code))
        # A corrected position (now in Tokyo) and a removed one; their rows still say Paris.
        w.execute("UPDATE items SET gps_lat = ?, gps_lon = ? WHERE id = ?", (TOKYO[0], TOKYO[1], ids["moved"]))
        w.execute("UPDATE items SET gps_lat = NULL, gps_lon = NULL WHERE id = ?", (ids["cleared"],))
    return ids


def test_filters_facets_and_summary_follow_the_catalogue(case: Case) -> None:
    ids = _setup(case)
    records = {i["id"]: i for i in case.items()}
    assert records[ids["kept"]]["place"]["country_code"] == "FR"
    assert records[ids["moved"]]["place"] is None and records[ids["cleared"]]["place"] is None

    def by_catalogue(pred) -> list[int]:
        return sorted(i for i, r in records.items() if pred(r))

    assert browse.item_ids(case.ctx, ItemFilter(country="FR")) == by_catalogue(
        lambda r: r["place"] is not None and r["place"]["country_code"] == "FR") == [ids["kept"]]
    assert browse.item_ids(case.ctx, ItemFilter(place="Paris")) == [ids["kept"]]
    assert browse.item_ids(case.ctx, ItemFilter(country="JP")) == [ids["tokyo"]]
    # The moved photo has a position and no current place: "no country (not yet named)".
    assert browse.item_ids(case.ctx, ItemFilter(country=NO_COUNTRY)) == by_catalogue(
        lambda r: r["gps_lat"] is not None and r["place"] is None) == [ids["moved"]]
    facets = browse.facets(case.ctx)
    assert {c["code"]: c["count"] for c in facets["countries"]} == {"FR": 1, "JP": 1}
    assert {p["name"]: p["count"] for p in facets["places"]} == {"Paris": 1, "Tokyo": 1}
    summary = case.places.summary()
    assert {c["code"]: c["count"] for c in summary["countries"]} == {"FR": 1, "JP": 1}
    assert summary["pending"] == 1  # the moved photo is looked up again by the next places step


def test_kml_rows_carry_only_current_places(case: Case, tmp_path: Path) -> None:
    ids = _setup(case)
    out = tmp_path / "pos.kml"
    case.places.export_kml(out, ids=[ids["kept"], ids["moved"], ids["tokyo"]])
    text = out.read_text()
    kept, moved = (text.split(f"{n}.jpg</name>", 1)[1].split("</Placemark>", 1)[0] for n in ("kept", "moved"))
    assert "Paris" in kept and "Paris" not in moved
