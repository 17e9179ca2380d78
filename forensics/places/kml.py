"""KML 2.2 of item positions, for Google Earth, QGIS or Autopsy: one placemark per item
with its name, evidence path, SHA-256, capture time (a TimeStamp when the instant is
known), place and time zone, and the case record and geocoder versions on the document."""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from forensics.context import CaseContext
from forensics.store.places_current import current_places_join
from forensics.store.queries import select_in

KML_NS = "http://www.opengis.net/kml/2.2"
_ROWS = ("SELECT i.id, i.source_id, i.relpath, i.kind, i.sha256, i.md5, i.gps_lat, i.gps_lon, i.gps_alt, i.taken_time,"
         " i.taken_utc, i.taken_zone, p.status, p.note, p.locality, p.city, p.city_km, p.state, p.country, p.country_code, p.time_zone, p.distance_km"
         f" FROM items i LEFT {current_places_join()} WHERE i.id IN ({{ids}})")


def _data(parent: ET.Element, values: dict[str, object]) -> None:
    ext = ET.SubElement(parent, "ExtendedData")
    for name, value in values.items():
        if value is not None and value != "":
            d = ET.SubElement(ext, "Data", name=name)
            ET.SubElement(d, "value").text = str(value)




def write_kml(ctx: CaseContext, out: Path, item_ids: list[int]) -> dict:
    """Write `item_ids` (items with a usable position) to `out`; returns counts."""
    from forensics import __version__
    from forensics.examiners import encode_head
    from forensics.places.geocode import version
    from forensics.places.text import place_name, place_text

    ET.register_namespace("", KML_NS)
    kml = ET.Element("kml", xmlns=KML_NS)
    doc = ET.SubElement(kml, "Document")
    info = ctx.record
    ET.SubElement(doc, "name").text = f"Case {info.number}: {info.name} — item positions"
    ET.SubElement(doc, "description").text = (
        f"Exported by {ctx.examiner} at {ctx.now()} with forensics {__version__}. Authority: {info.authority}."
        f" Place names: {version()}.")
    # The signed audit head makes the file a witness: `forensics audit verify --witness OUT.kml`.
    signed = ctx.signed_head()
    _data(doc, {"case_number": info.number, "case_name": info.name, "authority": info.authority,
                "examiner": ctx.examiner, "exported_utc": ctx.now(), "geocoder": version(),
                "tool": f"forensics {__version__}", "signed_audit_head": encode_head(signed) if signed else None})
    rows = sorted(select_in(ctx.store.read, _ROWS, item_ids), key=lambda r: r["id"])
    for r in rows:
        path = ctx.catalogue.path_display({"source_id": r["source_id"], "relpath": r["relpath"]})
        pm = ET.SubElement(doc, "Placemark", id=f"item-{r['id']}")
        ET.SubElement(pm, "name").text = os.path.basename(path.rstrip("/")) or path
        place = place_name(dict(r)) if r["status"] else ""
        lines = [f"Item {r['id']} ({r['kind']})", f"Path: {path}", f"SHA-256: {r['sha256'] or '-'}"]
        if r["taken_time"]:
            lines.append(f"Taken: {r['taken_time']}" + (" (camera local time, zone unknown)"
                                                         if r["taken_zone"] == "local-unknown" else ""))
        if place:
            lines.append(f"Place: {place_text({'place': dict(r)})}")
        if r["time_zone"]:
            lines.append(f"Time zone at the position: {r['time_zone']}")
        ET.SubElement(pm, "description").text = "\n".join(lines)
        # A TimeStamp needs an instant: camera-local times without an offset are left out.
        if r["taken_utc"] and r["taken_zone"] != "local-unknown":
            ts = ET.SubElement(pm, "TimeStamp")
            ET.SubElement(ts, "when").text = r["taken_utc"].replace(".000000Z", "Z")
        _data(pm, {"item_id": r["id"], "path": path, "sha256": r["sha256"], "md5": r["md5"],
                   "taken_time": r["taken_time"], "place": place, "country_code": r["country_code"],
                   "time_zone": r["time_zone"]})
        point = ET.SubElement(pm, "Point")
        coords = f"{r['gps_lon']:.7f},{r['gps_lat']:.7f}" + (f",{r['gps_alt']:.2f}" if r["gps_alt"] is not None else "")
        if r["gps_alt"] is not None:
            ET.SubElement(point, "altitudeMode").text = "absolute"
        ET.SubElement(point, "coordinates").text = coords
    ET.indent(kml)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    ET.ElementTree(kml).write(tmp, encoding="UTF-8", xml_declaration=True)
    os.replace(tmp, out)
    return {"out": str(out), "placemarks": len(rows), "bytes": out.stat().st_size}
