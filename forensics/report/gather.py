"""Everything a report states, gathered from the case and its services.

Fixed-size sections (case record, sources, summary, persons) are plain values. Sections
that grow with the case (selected items, audit trail, failed files) are generators that
read SQLite in batches, so a 10,000-item report never holds more than one batch.
Each service is asked inside a guard: if faces, copies or hash sets are missing or fail,
the section says so in the report instead of the export failing. A programming error (a
field read under a name the service does not return) is not a service failure: it fails
the export, so a renamed field fails a test instead of printing "unavailable".
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from forensics import __version__, audit
from forensics.store.hashset_status import entry_status
from forensics.report.people import format_seconds
from forensics.model import describe_error
from forensics.report.sources import ReportSources
from forensics.store.queries import pages, paged

BATCH = 200
MAX_GROUP_MEMBERS = 25  # copy-group members named per item; the count is always given
PARAMS_CHARS = 400  # long audit parameters (id lists) are shortened in the report


# Errors of the report's own code, never of a service's data or state: these propagate.
PROGRAMMING_ERRORS = (KeyError, AttributeError, TypeError, NameError)


class Unavailable(list):
    """Collects 'section unavailable: reason' notes for the report."""

    def guard(self, section: str, fn: Callable[[], Any], default: Any = None) -> Any:
        try:
            return fn()
        except PROGRAMMING_ERRORS:
            raise
        except Exception as exc:
            note = f"{section}: unavailable ({describe_error(exc)})"
            if note not in self:
                self.append(note)
            return default


def header(src: ReportSources, unavailable: Unavailable) -> dict:
    """Case record, tool and model versions, algorithms and thresholds."""
    face_stats = unavailable.guard("face model", lambda: src.faces.stats(), {}) or {}
    copy_run = unavailable.guard("copy groups", lambda: src.copies.last_run(), None) or {}
    copy_stats = copy_run.get("params") or {}
    models = [("face model", _short(face_stats["model"]))] if face_stats else []
    algorithms = [
        ("Cryptographic hashes", "MD5, SHA-1 and SHA-256 of every file, computed in one read at ingest"),
        ("Perceptual hashes", "pHash (64-bit DCT) and dHash (64-bit gradient) of the decoded, orientation-corrected image"),
        ("Evidence verification", "re-read of every file read-only, MD5, SHA-1 and SHA-256 compared with the ingest values"),
        ("Audit log", "SHA-256 hash chain over every entry (sequence, time, examiner, action, parameters, result)"),
    ]
    algorithms += unavailable.guard("face calibration", lambda: calibration_rows(src), []) or []
    algorithms += unavailable.guard("place names", lambda: places_rows(src), []) or []
    cluster = audit.entries(src.ctx.store.read, "faces.cluster")
    if cluster:
        for key, value in cluster[-1].params.items():
            algorithms.append((f"face clustering: {key}", _short(value)))
    for key, value in copy_stats.items():
        algorithms.append((f"copy grouping: {key.replace('_', ' ')}", _short(value)))
    return {"case": src.ctx.record.as_dict(), "examiner": src.ctx.examiner, "tool": f"forensics {__version__}",
            "tool_version": __version__, "models": models, "algorithms": algorithms}


def places_rows(src: ReportSources) -> list[tuple[str, str]]:
    """Which offline geocoders and data versions named the places of GPS positions."""
    from forensics.places.service import PlaceService

    used = PlaceService(src.ctx).summary()["geocoders"]
    return [("Place names and time zones", "offline, no network: " + g) for g in used]


def places_summary(src: ReportSources) -> dict:
    """Positions by country, with the invalid and the not yet named."""
    from forensics.places.service import PlaceService

    s = PlaceService(src.ctx).summary()
    return {"positions": s["positions"], "countries": s["countries"], "invalid": s["invalid"],
            "outside_countries": s["outside_countries"], "pending": s["pending"]}


def calibration_rows(src: ReportSources) -> list[tuple[str, str]]:
    """The method section's account of face-comparison evidence: what an LR means here,
    the calibration's provenance and validation figures, and the check on this case."""
    from forensics.faces.calibration import VERBAL_SCALE_NAME, load_calibration

    cal = load_calibration()
    prov = cal.provenance
    figs = prov.get("figures", {})
    fig_text = "; ".join(f"{b}: Cllr {v['cllr']}, EER {v['eer']}, misleading LR>100 for different people "
                         f"{v['misleading_different_strong']}" for b, v in figs.items() if b in ("full-full", "full-24", "24-24"))
    rows = [("Face comparison evidence",
             "Each face hit states a likelihood ratio LR = P(distance | same person) / P(distance | different people) "
             f"for the sizes of both faces, as log10 LR and in words on the {VERBAL_SCALE_NAME} verbal scale; hits are "
             f"ranked by it. Faces narrower than {cal.min_reliable_width:.0f} px are leads only."),
            ("Face calibration", f"{cal.version}, fitted {prov.get('fitted_utc', '?')} by {prov.get('fitted_by', '?')} on "
                                 f"{prov.get('data', '?')}; {prov.get('method', '')}; descriptor {prov.get('descriptor', '?')}"),
            ("Face calibration validation (cross-validated)", fig_text or "not recorded")]
    check = src.faces.last_calibration_check()
    if check is None:
        rows.append(("Calibration check on this case", "not run (it runs with each clustering)"))
    else:
        srcs = "; ".join(f"{k.replace('_', ' ')}: {v['misleading']} of {v['pairs']} misleading" for k, v in
                         check.get("sources", {}).items())
        text = f"{'WARNING: ' + ' '.join(check['warnings']) if check.get('warnings') else 'consistent with the calibration'}"
        rows.append(("Calibration check on this case", f"{text} ({srcs or 'no pairs of known truth'})"))
    return rows


def sources(src: ReportSources) -> list[dict]:
    """Evidence sources with files, bytes and the outcome of the last verification."""
    from forensics.verify import last_verification

    last = last_verification(src.ctx)
    out = []
    for s in src.ctx.catalogue.sources():
        row = dict(s)
        per = (last or {}).get("sources", {}).get(str(s["id"]))
        image_check = next((i for i in (last or {}).get("images", []) if i["source_id"] == s["id"]), None)
        if image_check is not None and image_check["status"] in ("changed", "unreadable"):
            per = dict(per or {}, changed=(per or {}).get("changed", 0) + 1)
            row["image_verification"] = f"IMAGE {image_check['status'].upper()}: {image_check.get('detail', '')}"
        if last is None or per is None:
            row["verification"] = "not verified (run 'forensics verify')"
            row["verified_ok"] = None
        else:
            bad = per.get("changed", 0) + per.get("missing", 0) + per.get("unreadable", 0)
            partial = " (run incomplete)" if last.get("cancelled") else ""
            if bad:
                row["verification"] = (f"ALTERED at {last['time_utc']}: {per.get('changed', 0)} changed, "
                                       f"{per.get('missing', 0)} missing, {per.get('unreadable', 0)} unreadable "
                                       f"(audit entry {last['seq']}){partial}")
                row["verified_ok"] = False
            else:
                row["verification"] = (f"intact at {last['time_utc']}: {per.get('ok', 0)} files re-hashed and "
                                       f"identical (audit entry {last['seq']}){partial}")
                row["verified_ok"] = not partial
        if s.get("kind") == "image":  # the acquisition hash check belongs beside the verification
            from forensics.diskimage.sources import image_summary

            row["verification"] += " | " + "; ".join(image_summary(s))
            if s.get("hash_mismatch"):
                row["verified_ok"] = False
        if s.get("errors"):
            row["verification"] += " | errors: " + "; ".join(f"{e['stage']}: {e['message']}" for e in s["errors"])
        out.append(row)
    return out


def summary(src: ReportSources, unavailable: Unavailable) -> dict:
    """Case-wide counts: files by type, faces, persons, copy groups, hash-set matches, errors."""
    st = src.ctx.catalogue.stats()
    out: dict[str, Any] = {"files": st["files"], "bytes": st["bytes"], "by_kind": st["by_kind"],
                           "by_type": st["by_type"], "errors": st["errors"], "flags": st["flags"],
                           "audit_entries": st["audit_entries"]}
    fs = unavailable.guard("faces", lambda: src.faces.stats(), None)
    out["faces"] = {k: v for k, v in (fs or {}).items() if isinstance(v, (int, float, str))} if fs else None
    persons = unavailable.guard("persons", lambda: src.faces.persons(), None)
    out["persons"] = None if persons is None else {
        "total": len(persons), "named": sum(1 for p in persons if p["name"])}
    out["copies"] = unavailable.guard("copy groups", lambda: copies_summary(src), None)
    out["places"] = unavailable.guard("place names", lambda: places_summary(src), None)
    hs = unavailable.guard("hash-set matches", lambda: src.hashsets.match_summary(), None)
    # A set's kind is only the default of entries without a category: a VICS set that
    # mixes categories shows its entries by status instead.
    out["hashsets"] = None if hs is None else [
        {"set": r["name"], "kind": _set_kind(r), "items": r["items"]} for r in hs["by_set"]]
    cats = src.ctx.catalogue.categories()
    # Every category hash sets applied, each with what it means (category 0 is
    # non-pertinent and 3-4 are not known-bad: forensics.store.hashset_status).
    by_cat = (hs.get("by_category") or hs.get("known_bad_by_category") or {}) if hs is not None else {}
    out["hashset_categories"] = [
        {"category": k, "items": v, "name": (f"{cats.get(int(k)) or 'category ' + str(k)}; {entry_status(int(k), 'known-bad')}"
                                             if str(k).isdigit() else "no category")}
        for k, v in by_cat.items()]
    return out


def copies_summary(src: ReportSources) -> dict:
    """Copy groups by kind, and when grouping last ran (and whether items came since)."""
    by_kind = {r[0]: r[1] for r in src.ctx.store.query("SELECT kind, COUNT(*) FROM copy_groups GROUP BY kind")}
    out: dict[str, Any] = {"groups": sum(by_kind.values()), **{f"{k} groups": v for k, v in sorted(by_kind.items())},
                           "files in groups": src.ctx.store.scalar("SELECT COUNT(*) FROM copy_members") or 0}
    run = src.copies.last_run()
    out["last grouping"] = "never run" if run is None else run["started_utc"] + (
        " (items were added since: stale)" if run["stale"] else "")
    return out


def _set_kind(row: dict) -> str:
    statuses = row.get("statuses") or {}
    if set(statuses) <= {row["kind"]}:
        return row["kind"]
    return ", ".join(f"{k} {n}" for k, n in statuses.items())


def _thumb(src: ReportSources, rel: str | None, data_uri: bool) -> str | None:
    if not rel:
        return None
    path = src.ctx.paths.thumbs / rel
    if not data_uri:
        return str(path) if path.is_file() else None
    try:
        return "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return None


def thumb_of(src: ReportSources, item_id: int, data_uri: bool = True) -> str | None:
    """An item's cached thumbnail as a data: URI (HTML) or a file path (PDF)."""
    p = src.ctx.catalogue.thumb_path(item_id)
    return _thumb(src, str(p.relative_to(src.ctx.paths.thumbs)), data_uri) if p else None


def face_thumb(src: ReportSources, face_id: int, data_uri: bool = True) -> str | None:
    try:
        p = src.faces.face_thumb_path(face_id)
    except Exception:
        return None
    if not p or not Path(p).is_file():
        return None
    if not data_uri:
        return str(p)
    return "data:image/jpeg;base64," + base64.b64encode(Path(p).read_bytes()).decode("ascii")


def _copy_group(src: ReportSources, item_id: int, unavailable: Unavailable) -> dict | None:
    g = unavailable.guard("copy groups", lambda: src.copies.group_of(item_id), None)
    if not g:
        return None
    others = [m for m in g["members"] if m["item_id"] != item_id]
    shown = others[:MAX_GROUP_MEMBERS]
    return {"id": g["group_id"], "kind": g["kind"], "size": len(others) + 1,
            "members": [{"id": m["item_id"], "path": m["path"]} for m in shown], "more": len(others) - len(shown)}


def _matches(src: ReportSources, item_id: int, unavailable: Unavailable) -> list[dict]:
    ms = unavailable.guard("hash-set matches", lambda: src.hashsets.matches(item_id), []) or []
    return [{"set": m["set_name"], "kind": m["kind"], "category": m["category"], "hash": m["hash"],
             "distance": m["distance"]} for m in ms]


def enrich(src: ReportSources, item: dict, categories: dict[int, str], unavailable: Unavailable, data_uri: bool) -> dict:
    """One selected item with everything the report prints about it."""
    d = dict(item)
    d["thumb_src"] = _thumb(src, item.get("thumb"), data_uri)
    d["category_name"] = categories.get(item["category"]) if item.get("category") is not None else None
    d["hash_matches"] = _matches(src, item["id"], unavailable)
    d["copy_group"] = _copy_group(src, item["id"], unavailable)
    faces = unavailable.guard("faces", lambda: src.faces.faces_of_item(item["id"]), None)
    d["faces"] = None if faces is None else len(faces)
    d["frame_time_text"] = format_seconds(item.get("frame_time")) if item.get("kind") == "frame" else ""
    gps = [item.get("gps_lat"), item.get("gps_lon")]
    d["gps_text"] = (f"{gps[0]:.6f}, {gps[1]:.6f}" + (f", {item['gps_alt']:.1f} m" if item.get("gps_alt") is not None else "")
                     if None not in gps else "")
    d["camera"] = " ".join(x for x in (item.get("camera_make"), item.get("camera_model")) if x)
    d["taken_text"] = taken_text(item)
    d["place_text"] = place_line(item)
    return d


def place_line(item: dict) -> str:
    """Place and time zone of the item's GPS position, with the zone hint for a
    camera-local time (forensics.places.text)."""
    from forensics.places.text import place_text, zone_hint

    text, hint = place_text(item), zone_hint(item)
    return f"{text}; capture time {hint}" if text and hint else text


def items(src: ReportSources, ids: tuple[int, ...], unavailable: Unavailable, data_uri: bool,
          on_item: Callable[[int], None] | None = None) -> Iterator[dict]:
    """Selected items, enriched, fetched BATCH at a time in id order."""
    categories = src.ctx.catalogue.categories()
    n = 0
    for i in range(0, len(ids), BATCH):
        for item in src.ctx.catalogue.items(ids=ids[i:i + BATCH]):
            n += 1
            yield enrich(src, item, categories, unavailable, data_uri)
            if on_item is not None:
                on_item(n)


def audit_trail(src: ReportSources, upto_seq: int) -> Iterator[dict]:
    """Every audit entry up to `upto_seq` (the head when the export began), in order,
    parameters shortened for print."""
    for r in paged(src.ctx.store.read, "SELECT seq, time_utc, examiner, action, params, result, entry_hash"
                   " FROM audit_log WHERE seq <= ? AND seq > ? ORDER BY seq LIMIT ?", (upto_seq,)):
        yield {"seq": r[0], "time_utc": r[1], "examiner": r[2], "action": r[3],
               "params": _shorten(r[4]), "result": _shorten(r[5]), "entry_hash": r[6]}


def failed_files(src: ReportSources) -> Iterator[dict]:
    """Every recorded processing error with the file it belongs to."""
    for rows in pages(src.ctx.store.read, "SELECT e.id, e.item_id, e.stage, e.message, e.time_utc FROM item_errors e"
                      " WHERE e.id > ? ORDER BY e.id LIMIT ?"):
        paths = src.ctx.catalogue.display_paths(r[1] for r in rows)
        for r in rows:
            yield {"item_id": r[1], "path": paths.get(r[1], "?"), "stage": r[2], "message": r[3], "time_utc": r[4]}


def counts(src: ReportSources) -> dict:
    return {"audit_entries": src.ctx.store.scalar("SELECT COUNT(*) FROM audit_log") or 0,
            "errors": src.ctx.store.scalar("SELECT COUNT(*) FROM item_errors") or 0,
            "failed_files": src.ctx.store.scalar("SELECT COUNT(DISTINCT item_id) FROM item_errors") or 0}


def _shorten(text: str) -> str:
    try:
        text = json.dumps(json.loads(text), ensure_ascii=False, separators=(", ", ": "))
    except ValueError:
        pass
    return text if len(text) <= PARAMS_CHARS else text[:PARAMS_CHARS] + f"... ({len(text)} characters)"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:200] + "..."


def human_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{n:,} bytes" if unit == "bytes" else f"{size:.1f} {unit} ({n:,} bytes)"
        size /= 1024
    return f"{n:,} bytes"


def taken_text(item: dict) -> str | None:
    """The recorded time with what is known of its zone, for people."""
    t, zone = item.get("taken_time"), item.get("taken_zone")
    if not t:
        return None
    if zone == "local-unknown":
        return f"{t} (local, zone unknown)"
    if zone == "offset":
        return f"{t} ({item['taken_utc'][:19]}Z)"
    return t
