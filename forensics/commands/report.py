"""`forensics report` (export an examiner report) and `forensics verify` (re-hash evidence)."""
from __future__ import annotations

import argparse

from forensics.cli import ProgressBar, add_case, add_json, emit, open_case, plain


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="export an examiner report (HTML, PDF or CSV)",
                       description="Export a report of the selected items for court: case record, authority, "
                                   "evidence and its verification, summary, items with hashes, persons, failed "
                                   "files and the audit trail. The report's SHA-256 is written to the audit log.")
    add_case(p)
    p.add_argument("--out", required=True, metavar="FILE", help="report file: .html, .pdf or .csv")
    p.add_argument("--format", choices=("html", "pdf", "csv"), help="format (default: from the file name)")
    p.add_argument("--selection", default="bookmarked",
                   help="bookmarked (default), category:N, person:ID, all-tagged or all")
    p.add_argument("--preview", action="store_true", help="only count what the report would include")
    add_json(p)
    p.set_defaults(func=cmd_report)

    v = sub.add_parser("verify", help="re-read every evidence file and check its hashes",
                       description="Re-hash every catalogued evidence file (read-only) and report files whose "
                                   "MD5/SHA-1/SHA-256 changed or that went missing. Exit status 3 if any did.")
    add_case(v)
    add_json(v)
    v.set_defaults(func=cmd_verify)


def cmd_report(args: argparse.Namespace) -> int:
    with open_case(args) as case:
        if args.preview:
            data = case.reports.preview(args.selection)
            emit(args, data, f"{data['description']}: {data['items']} items, {data['persons']} persons, "
                             f"{data['faces'] if data['faces'] is not None else '?'} faces, "
                             f"{data['audit_entries']} audit entries, {data['failed_files']} failed files")
            return 0
        res = case.export_report(args.out, args.format, args.selection, progress=ProgressBar("report"))
        text = (f"wrote {res['path']} ({res['format']}, {res['items']} items, {res['bytes']:,} bytes)\n"
                + (f"sha256 {res['sha256']} recorded in audit entry {res['audit_seq']}" if res["audit_seq"] else
                   f"sha256 {res['sha256']} NOT recorded in the audit log: {res['audit_error']}"))
        if res["unavailable"]:
            text += "\nnot available: " + "; ".join(res["unavailable"])
        emit(args, res, text)
        return 0


def cmd_verify(args: argparse.Namespace) -> int:
    with open_case(args) as case:
        res = case.verify(progress=ProgressBar("verify"))
        lines = [f"{res['status'].upper()}: {res['checked']} of {res['files']} files checked, {res['ok']} ok, "
                 f"{res['changed']} changed, {res['missing']} missing, {res['unreadable']} unreadable, "
                 f"{res['unverifiable']} without recorded hash"]
        for p in res["problems"]:
            lines.append(f"  {p['status'].upper():10} item {p['item_id']}: {plain(p['path'])}  ({plain(p['detail'])})")
        if res.get("note"):
            lines.append(f"note: {res['note']}")
        if res["audit_error"]:
            lines.append(f"NOT recorded in the audit log: {res['audit_error']}")
        emit(args, res, "\n".join(lines))
        return 3 if res["status"] != "intact" else 0
