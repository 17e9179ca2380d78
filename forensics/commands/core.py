"""Core commands: case create, ingest, info, items, audit, demo."""
from __future__ import annotations

import argparse
import sys
import threading

from forensics.cli import ProgressBar, add_case, add_cluster, add_json, cluster_spec, emit, open_case, plain


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("case", help="create a case")
    csub = p.add_subparsers(dest="case_command", metavar="ACTION", required=True)
    c = csub.add_parser("create", help="create a case folder (the legal authority is required)")
    c.add_argument("case_dir", metavar="DIR")
    c.add_argument("--name", required=True)
    c.add_argument("--number", required=True, help="case number / reference")
    c.add_argument("--examiner", dest="case_examiner", required=True)
    c.add_argument("--authority", required=True, help="legal basis: warrant or order reference")
    c.add_argument("--description")
    add_json(c)
    c.set_defaults(func=cmd_case_create)

    p = sub.add_parser("ingest", help="catalogue evidence folders or files into a case (resumable)")
    add_case(p)
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument("--workers", type=int, default=0, help="worker processes (default: one per core)")
    p.add_argument("--faces", action=argparse.BooleanOptionalAction, default=True,
                   help="detect and embed faces during ingest (default: on)")
    p.add_argument("--frame-interval", type=float, default=1.0,
                   help="seconds between sampled video frames without faces, or with --no-follow-faces")
    p.add_argument("--follow-faces", action=argparse.BooleanOptionalAction, default=True,
                   help="with faces: sample video densely around faces, sparsely elsewhere (default: on)")
    p.add_argument("--follow-base", type=float, default=1.0, help="seconds between full-frame looks (default 1.0)")
    p.add_argument("--follow-dense", type=float, default=0.25, help="seconds between samples near faces (default 0.25)")
    p.add_argument("--describe-every", type=float, default=1.0,
                   help="a followed face gets a descriptor at least this often, and whenever it is larger, sharper"
                        " or turned (default 1.0 s; 0 = every detection)")
    p.add_argument("--no-scene-changes", action="store_true", help="sample video at the interval only")
    p.add_argument("--retry-failed", action="store_true",
                   help="try again every file recorded with an error (files that failed for a reason that can"
                        " pass, such as I/O or permission, are always retried)")
    p.add_argument("--no-analysis", action="store_true",
                   help="skip the case-wide steps after ingest (hash-set matching, copy groups, face clusters)")
    add_cluster(p)
    add_json(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("info", help="counts by type, errors and sources")
    add_case(p)
    add_json(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("items", help="list items (files and video frames)")
    add_case(p)
    p.add_argument("--kind", choices=["image", "video", "frame", "other"])
    p.add_argument("--no-frames", action="store_true")
    p.add_argument("--errors", action="store_true", help="only items with errors")
    p.add_argument("--limit", type=int)
    add_json(p)
    p.set_defaults(func=cmd_items)

    p = sub.add_parser("audit", help="show or verify the audit log")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    a = asub.add_parser("verify", help="check the signed audit log, against witness files or reports")
    add_case(a)
    a.add_argument("--witness", nargs="+", default=[], metavar="FILE_OR_REPORT",
                   help="an examiner's witness file, or a report or VICS export of this case, holding signed heads")
    a.add_argument("--no-local-witness", action="store_true",
                   help="do not also use the witness files of this machine's examiners")
    add_json(a)
    a.set_defaults(func=cmd_audit_verify)
    a = asub.add_parser("list", help="list audit entries")
    add_case(a)
    a.add_argument("--action", help="only actions starting with this")
    add_json(a)
    a.set_defaults(func=cmd_audit_list)

    p = sub.add_parser("demo", help="build the bundled sample case if missing, ingest it and show what was found")
    p.add_argument("--case-dir", default=None, help="where the demo case goes (default: sample_cases/demo)")
    p.add_argument("--no-faces", action="store_true")
    add_json(p)
    p.set_defaults(func=cmd_demo)


def cmd_case_create(args: argparse.Namespace) -> int:
    from forensics.case import Case

    case = Case.create(args.case_dir, name=args.name, number=args.number, examiner=args.case_examiner,
                       authority=args.authority, description=args.description)
    emit(args, {"case": case.info, "path": str(case.path)}, f"created case {case.info['number']} at {case.path}")
    return 0


def run_ingest_cli(case, sources, options, analysis: bool = True, retry_failed: bool = False, cluster=None) -> dict:
    def announce() -> None:
        print("analysing: hash-set matches, copy groups, face clusters ...", file=sys.stderr)

    return case.ingest_and_analyse(sources, options, progress=ProgressBar("ingest"), cancel=threading.Event(),
                                   analysis=analysis, on_analysis=announce, retry_failed=retry_failed,
                                   cluster=cluster).as_dict()


def _analysis_text(a: dict | None) -> str:
    if not a:
        return ""
    parts = []
    for step, r in a.items():
        if "error" in r:
            parts.append(f"{step}: FAILED ({r['error']})")
        elif "skipped" in r and "groups" not in r:
            parts.append(f"{step}: {r['skipped']}")
        else:
            keys = [k for k in ("groups", "matched_items", "clusters", "persons", "suggested") if k in r]
            parts.append(f"{step}: " + (", ".join(f"{k} {r[k]}" for k in keys) or "done"))
    return "\nanalysis: " + "; ".join(parts)


def cmd_ingest(args: argparse.Namespace) -> int:
    from forensics.ingest.pipeline import IngestOptions

    opts = IngestOptions(workers=args.workers, faces=args.faces, frame_interval=args.frame_interval,
                         scene_changes=not args.no_scene_changes, follow_faces=args.follow_faces,
                         follow_base=args.follow_base, follow_dense=args.follow_dense,
                         describe_every=args.describe_every)
    cluster = cluster_spec(args)
    case = open_case(args)
    s = run_ingest_cli(case, args.sources, opts, not args.no_analysis, args.retry_failed, cluster)
    if s.get("noatime_refused"):
        from forensics.evidence import noatime_message

        print(f"forensics: note: {noatime_message(s['noatime_refused'])}", file=sys.stderr)
    retried = f" {s['retried']} tried again ({s['recovered']} now without error);" if s["retried"] else ""
    emit(args, s, f"found {s['found']} files: {s['added']} added ({s['failed']} with errors), {s['skipped']} already in the case;"
                  f"{retried}"
                  f" {s['frames']} video frames, {s['faces']} faces in {s['seconds']:.1f}s" + _analysis_text(s.get("analysis")))
    return 0


def _info_text(st: dict) -> str:
    c = st["case"]
    lines = [f"Case {c['number']}: {c['name']}", f"  authority: {c['authority']}", f"  examiner:  {c['examiner']}",
             f"  files: {st['files']} ({st['bytes']:,} bytes)  errors: {st['errors']}  audit entries: {st['audit_entries']}"]
    lines += [f"  {k}: {v}" for k, v in sorted(st["by_kind"].items())]
    lines.append("  types: " + ", ".join(f"{k} {v}" for k, v in st["by_type"].items()))
    if st["flags"]:
        lines.append("  flags: " + ", ".join(f"{k} {v}" for k, v in sorted(st["flags"].items())))
    for s in st["sources"]:
        lines.append(f"  source {s['id']}: {plain(s['path'])} ({s['files']} files, {s['bytes']:,} bytes)")
        if s.get("kind") == "image":
            from forensics.diskimage.sources import image_summary

            lines += [f"    {line}" for line in image_summary(s)]
        lines += [f"    ERROR ({e['stage']}): {plain(e['message'])}" for e in s.get("errors", [])]
    for r in st.get("ingest_runs", []):
        if r["status"] != "finished":
            lines.append(f"  ingest run {r['id']} ({r['examiner']}, {r['started_utc']}): {r['status']}, {r['files_done']}"
                         f" files committed" + (f"; {r.get('note') or r.get('error')}" if r.get("note") or r.get("error") else ""))
    return "\n".join(lines)


def cmd_info(args: argparse.Namespace) -> int:
    case = open_case(args, readonly=True)
    st = case.stats()
    emit(args, st, _info_text(st))
    return 0


def cmd_items(args: argparse.Namespace) -> int:
    case = open_case(args, readonly=True)
    # --json carries each item's hash-set matches, category name and persons too: one call for a script.
    listing = case.items_detailed if args.json else case.items
    items = listing(kind=args.kind, include_frames=not args.no_frames, limit=args.limit)
    if args.errors:
        items = [i for i in items if i["errors"]]
    from forensics.places.text import place_text

    text = "\n".join(f"{i['id']:>6} {i['kind']:<6} {i['mime'] or '':<24} {i['sha256'] or '':<64} {plain(i['path'])}"
                     + (f"  @ {plain(place_text(i))}" if i.get("place") else "")
                     + (f"  [{plain('; '.join(e['message'] for e in i['errors']))}]" if i["errors"] else "") for i in items)
    emit(args, {"items": items, "count": len(items)}, text or "no items")
    return 0


def _verdict_text(v) -> str:
    if v.ok:
        lines = [f"audit log intact: {v.entries} entries, head {v.head}"]
    elif v.first_broken is None:
        lines = [f"AUDIT LOG NOT PROVEN ({v.kind}): {v.reason}"]
    else:
        lines = [f"AUDIT LOG BROKEN at entry {v.first_broken} ({v.kind}): {v.reason}"]
        lines += [f"  also: {p}" for p in v.problems if p != v.reason]
    w = v.witness
    lines.append(f"witness points: {w.get('points', 0)} from {len(w.get('sources', []))} file(s)"
                 + (f", last at entry {w['last_seq']}" if w.get("last_seq") else ""))
    lines += [f"key {k['key_id']} of {k['examiner']} registered at entry {k['seq']}" for k in v.keys]
    lines += [f"proves: {p}" for p in v.proves]
    lines += [f"cannot prove: {p}" for p in v.cannot_prove]
    lines += [f"note: {n}" for n in v.notes]
    return "\n".join(lines)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    import sqlite3

    from forensics.audit_verify import Verdict
    from forensics.store.db import SchemaError

    try:
        case = open_case(args, readonly=True)
    except (sqlite3.Error, SchemaError) as exc:  # a damaged case database is a verdict too
        v = Verdict(False, 0, 1, f"the case database cannot be read: {exc}", "", kind="unreadable",
                    cannot_prove=["anything: the audit log could not be read"])
        emit(args, v.as_dict(), _verdict_text(v))
        return 3
    v = case.verify_audit(args.witness, local_witness=not args.no_local_witness)
    emit(args, v.as_dict(), _verdict_text(v))
    return 0 if v.ok else 3


def cmd_audit_list(args: argparse.Namespace) -> int:
    case = open_case(args, readonly=True)
    es = case.audit_entries(args.action)
    emit(args, {"entries": [e.__dict__ for e in es]},
         "\n".join(f"{e.seq:>5} {e.time_utc} {e.examiner:<12} {e.key_id or 'unsigned':<16} {e.action:<18} {e.params}"
                   f" -> {e.result}" for e in es))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from forensics.case import Case
    from forensics.ingest.pipeline import IngestOptions
    from sample_cases.build import DEMO_CASE, build_sample_evidence

    case_dir = Path(args.case_dir) if args.case_dir else DEMO_CASE
    evidence = build_sample_evidence(case_dir.parent / "evidence")
    if (case_dir / "case.sqlite").exists():
        case = Case.open(case_dir)
    else:
        case = Case.create(case_dir, name="Demo case", number="DEMO-0001", examiner="Demo Examiner",
                           authority="Sample material only: no legal authority needed (demonstration)")
    s = run_ingest_cli(case, [evidence], IngestOptions(faces=not args.no_faces))
    st = case.stats()
    emit(args, {"case_dir": str(case_dir), "ingest": s, "info": st},
         _info_text(st) + f"\n\ningest: {s['added']} added, {s['skipped']} already there, {s['frames']} frames, {s['faces']} faces"
         + _analysis_text(s.get("analysis"))
         + f"\ncase folder: {case_dir}\nnext: forensics items {case_dir}   |   forensics-gui {case_dir}")
    return 0
