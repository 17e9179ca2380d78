"""`forensics places` (place names and time zones of GPS positions) and `forensics
export-kml` (item positions as KML)."""
from __future__ import annotations

import argparse

from forensics.cli import ProgressBar, add_case, add_json, emit, open_case, plain


def _add_place_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--country", metavar="CC", help="only positions in this country (ISO code, e.g. FR)")
    p.add_argument("--place", metavar="NAME", help="only positions nearest this place (e.g. Paris)")
    p.add_argument("--bookmarked", action="store_true", help="only bookmarked items")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("places", help="place names and time zones of the GPS positions (offline)",
                       description="Name the place and time zone of every GPS position with offline geocoders "
                                   "(GeoNames places, Natural Earth borders, timezonefinder), then list the "
                                   "countries and places. Cases ingested before place names existed are "
                                   "back-filled here (ingest does it as part of its analysis).")
    add_case(p)
    p.add_argument("--no-update", action="store_true", help="only list what is stored (read-only)")
    add_json(p)
    p.set_defaults(func=cmd_places)

    k = sub.add_parser("export-kml", help="export item positions as KML (Google Earth, QGIS)",
                       description="Write one KML placemark per item with a GPS position (name, path, SHA-256, "
                                   "time, place, time zone). The file's SHA-256 is written to the audit log.")
    add_case(k)
    k.add_argument("out", metavar="OUT.kml")
    _add_place_filters(k)
    add_json(k)
    k.set_defaults(func=cmd_export_kml)


def cmd_places(args: argparse.Namespace) -> int:
    with open_case(args, readonly=args.no_update) as case:
        update = None if args.no_update else case.places.update(progress=ProgressBar("places"))
        s = case.places.summary()
        data = {"update": update, **s}
        lines = []
        if update and "looked_up" in update:
            lines.append(f"looked up {update['looked_up']} positions ({update['invalid']} invalid)")
        lines.append(f"{s['positions']} items with GPS; {s['pending']} without a place name yet; "
                     f"{s['invalid']} invalid positions; {s['outside_countries']} outside every country")
        lines += [f"  {c['code']}  {plain(c['name'])}: {c['count']}" for c in s["countries"]]
        lines += [f"    {plain(p['name'])} ({p['country_code'] or '-'}, {p['time_zone'] or '-'}): {p['count']}"
                  for p in s["places"][:50]]
        lines += [f"geocoder: {g}" for g in s["geocoders"]]
        emit(args, data, "\n".join(lines))
        return 0


def cmd_export_kml(args: argparse.Namespace) -> int:
    from forensics.browse import ItemFilter

    filters = ItemFilter(kinds=(), country=args.country.upper() if args.country else None, place=args.place,
                         bookmarked=True if args.bookmarked else None)
    with open_case(args) as case:
        res = case.export_kml(args.out, filters)
        emit(args, res, f"wrote {res['out']} ({res['placemarks']} placemarks, {res['bytes']:,} bytes)\n"
                        f"sha256 {res['sha256']} recorded in the audit log")
        return 0
