"""forensics.places: offline place names and time zones, the place filters and the KML export."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from forensics import browse
from forensics.browse import NO_COUNTRY, ItemFilter
from forensics.case import Case
from forensics.cli import main
from forensics.places import geocode

KML = "{http://www.opengis.net/kml/2.2}"
# name -> (lat, lon, expected country code, expected city, expected time zone)
KNOWN = {
    "paris.jpg": (48.8566, 2.3522, "FR", "Paris", "Europe/Paris"),
    "tokyo.jpg": (35.6895, 139.6917, "JP", "Tokyo", "Asia/Tokyo"),
    "sydney.jpg": (-33.8688, 151.2093, "AU", "Sydney", "Australia/Sydney"),
    "nyc.jpg": (40.7128, -74.0060, "US", "New York City", "America/New_York"),
}


def _insert(case: Case, rows: dict[str, tuple]) -> dict[str, int]:
    ids = {}
    with case.store.write() as w:
        w.execute("INSERT OR IGNORE INTO sources (path, path_raw, added_utc, added_by) VALUES ('/ev', X'2F6576', 'now', 'x')")
        sid = w.execute("SELECT id FROM sources WHERE path = '/ev'").fetchone()[0]
        for name, (lat, lon, *_) in rows.items():
            cur = w.execute("INSERT INTO items (kind, source_id, relpath, relpath_raw, size, ingested_utc, gps_lat, gps_lon,"
                            " taken_time, taken_utc, taken_zone, sha256) VALUES ('image', ?, ?, ?, 1, 'now', ?, ?,"
                            " '2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00.000000Z', 'offset', ?)",
                            (sid, name, name.encode(), lat, lon, "ab" * 32))
            ids[name] = cur.lastrowid
    return ids


@pytest.fixture()
def placed(new_case: Case) -> tuple[Case, dict[str, int]]:
    odd = {"null_island.jpg": (0.0, 0.0), "out_of_range.jpg": (95.0, 200.0), "atlantic.jpg": (40.0, -40.0)}
    ids = _insert(new_case, {**KNOWN, **odd})
    return new_case, ids


def test_a_landmark_is_named_by_its_city_and_its_nearest_locality() -> None:
    [eiffel] = geocode.locate([(48.85826, 2.29450)])
    assert (eiffel.city, eiffel.locality, eiffel.country_code) == ("Paris", "Vanves", "FR")
    from forensics.places.text import place_text

    assert place_text({"place": eiffel.as_dict()}).startswith("Paris, Île-de-France, France (FR); nearest place Vanves, 3.9 km")


def test_known_coordinates_get_place_and_time_zone() -> None:
    places = geocode.locate([(v[0], v[1]) for v in KNOWN.values()])
    for (lat, lon, code, city, zone), p in zip(KNOWN.values(), places):
        assert (p.status, p.country_code, p.city, p.time_zone) == ("ok", code, city, zone)
        assert p.distance_km is not None and p.distance_km < 15
    # The country is where the position lies: Lesotho is a hole in South Africa's outline
    # (inside two South African rings, one Lesotho ring), and mid-Atlantic is in no country.
    enclave, sea = geocode.locate([(-29.6, 28.2), (40.0, -40.0)])
    assert enclave.country_code == "LS" and enclave.country == "Lesotho"
    assert sea.country_code is None and "not inside any country" in sea.note and sea.time_zone == "Etc/GMT+3"


@pytest.mark.parametrize("lat, lon, why", [(0.0, 0.0, "0, 0"), (91.0, 0.0, "out of range"), (10.0, 181.0, "out of range"),
                                           (float("nan"), 1.0, "finite"), ("north", 1.0, "not a number")])
def test_unusable_positions_are_invalid_not_errors(lat, lon, why) -> None:
    [p] = geocode.locate([(lat, lon)])
    assert p.status == "invalid" and why in p.note and p.country_code is None


def test_update_stores_places_audits_and_backfills(placed) -> None:
    case, ids = placed
    assert case.places.pending() == len(ids)
    out = case.analyse()  # the analysis step every ingest runs; a case from before it is back-filled
    assert out["places"]["looked_up"] == len(ids) and out["places"]["invalid"] == 2
    for name, (_, _, code, city, zone) in KNOWN.items():
        place = case.item(ids[name])["place"]
        assert (place["country_code"], place["city"], place["time_zone"]) == (code, city, zone)
    assert case.item(ids["null_island.jpg"])["place"]["status"] == "invalid"
    [entry] = case.audit_entries("places.update")
    assert "timezonefinder" in entry.params["geocoder"] and "GeoNames" in entry.params["geocoder"]
    assert case.places.pending() == 0 and case.analyse()["places"].get("skipped")
    # A changed position (the file ingested again) is looked up again, never left stale.
    with case.store.write() as w:
        w.execute("UPDATE items SET gps_lat = 52.52, gps_lon = 13.405 WHERE id = ?", (ids["paris.jpg"],))
    assert case.item(ids["paris.jpg"])["place"] is None and case.places.pending() == 1
    case.places.update()
    berlin = case.item(ids["paris.jpg"])["place"]
    assert (berlin["state"], berlin["country_code"], berlin["time_zone"]) == ("State of Berlin", "DE", "Europe/Berlin")
    summary = case.places.summary()
    assert {c["code"] for c in summary["countries"]} == {"DE", "JP", "AU", "US"}
    assert summary["invalid"] == 2 and summary["outside_countries"] == 1


def test_place_filters_and_lasso(placed) -> None:
    case, ids = placed
    case.places.update()
    ctx = case.ctx
    assert browse.item_ids(ctx, ItemFilter(country="JP")) == [ids["tokyo.jpg"]]
    assert browse.item_ids(ctx, ItemFilter(place="Sydney")) == [ids["sydney.jpg"]]
    assert set(browse.item_ids(ctx, ItemFilter(country=NO_COUNTRY))) == {
        ids["null_island.jpg"], ids["out_of_range.jpg"], ids["atlantic.jpg"]}
    # A lasso (lon, lat) around western Europe, drawn as a concave shape whose notch holds
    # nothing: Paris is inside, the others are not.
    lasso = ((-10.0, 40.0), (20.0, 40.0), (20.0, 60.0), (5.0, 55.0), (-10.0, 60.0))
    assert browse.item_ids(ctx, ItemFilter(area=lasso)) == [ids["paris.jpg"]]
    notch = ((-10.0, 40.0), (20.0, 40.0), (20.0, 60.0), (2.0, 46.0), (-10.0, 60.0))  # Paris (48.9 N) in the notch
    assert browse.item_ids(ctx, ItemFilter(area=notch)) == []
    f = browse.facets(ctx)
    assert {c["code"] for c in f["countries"]} == {"FR", "JP", "AU", "US"}
    assert {"name": "Paris", "country_code": "FR", "count": 1} in f["places"]
    pos_ids, lat, lon = browse.positions(ctx)
    assert ids["null_island.jpg"] not in pos_ids and ids["out_of_range.jpg"] not in pos_ids and len(pos_ids) == 5


def test_kml_export_is_valid_with_the_right_placemarks(placed, tmp_path) -> None:
    case, ids = placed
    out = tmp_path / "positions.kml"
    res = case.export_kml(out)
    root = ET.parse(out).getroot()  # well-formed XML in the KML 2.2 namespace
    assert root.tag == f"{KML}kml"
    marks = root.findall(f"{KML}Document/{KML}Placemark")
    assert res["placemarks"] == len(marks) == 5  # (0, 0) and out-of-range positions are not exported
    by_name = {m.find(f"{KML}name").text: m for m in marks}
    paris = by_name["paris.jpg"]
    lon, lat = (float(v) for v in paris.find(f"{KML}Point/{KML}coordinates").text.split(","))
    assert (lat, lon) == pytest.approx(KNOWN["paris.jpg"][:2])
    assert paris.find(f"{KML}TimeStamp/{KML}when").text == "2024-05-01T10:00:00Z"
    data = {d.get("name"): d.find(f"{KML}value").text for d in paris.iter(f"{KML}Data")}
    assert data["country_code"] == "FR" and data["time_zone"] == "Europe/Paris" and data["item_id"] == str(ids["paris.jpg"])
    doc_data = {d.get("name"): d.find(f"{KML}value").text for d in root.find(f"{KML}Document/{KML}ExtendedData")}
    assert "timezonefinder" in doc_data["geocoder"] and doc_data["case_number"] == "T-1"
    [entry] = case.audit_entries("export.kml")
    assert entry.result["sha256"] == res["sha256"] and entry.result["placemarks"] == 5
    verdict = case.verify_audit([out], local_witness=False)  # the KML carries a signed audit head
    assert verdict.ok and verdict.witness["points"] == 1


def test_cli_places_and_export_kml(placed, tmp_path, capsys) -> None:
    case, ids = placed
    case.close()
    assert main(["places", str(case.path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["update"]["looked_up"] == 7 and {c["code"] for c in data["countries"]} == {"FR", "JP", "AU", "US"}
    out = tmp_path / "jp.kml"
    assert main(["export-kml", str(case.path), str(out), "--country", "jp"]) == 0
    assert "1 placemarks" in capsys.readouterr().out
    assert [m.find(f"{KML}name").text for m in ET.parse(out).getroot().iter(f"{KML}Placemark")] == ["tokyo.jpg"]
    assert main(["items", str(case.path)]) == 0
    assert "Tokyo, Japan (JP) · Asia/Tokyo" in capsys.readouterr().out


def test_report_states_places_and_the_geocoder(placed, tmp_path) -> None:
    import csv

    case, ids = placed
    case.places.update()
    html = tmp_path / "r.html"
    case.export_report(html, selection="all")
    text = html.read_text(encoding="utf-8")
    assert "Paris, Île-de-France, France (FR) · Europe/Paris" in text
    assert "invalid GPS position (0, 0" in text
    assert "Place names and time zones" in text and "timezonefinder 9" in text and "GeoNames cities1000" in text
    assert "Japan (JP) 1" in text
    out = tmp_path / "r.csv"
    case.export_report(out, selection="all")
    rows = {r["item_id"]: r for r in csv.DictReader(open(out, encoding="utf-8-sig", newline=""))}
    assert (rows[str(ids["tokyo.jpg"])]["country_code"], rows[str(ids["tokyo.jpg"])]["time_zone"]) == ("JP", "Asia/Tokyo")
    pdf = tmp_path / "r.pdf"
    case.export_report(pdf, selection="all")
    from pypdf import PdfReader

    pdf_text = "".join(p.extract_text() for p in PdfReader(str(pdf)).pages)
    assert "Sydney" in pdf_text and "GPS positions" in pdf_text
