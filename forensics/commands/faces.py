"""`forensics faces analyze|search|cluster|reindex|stats` and
`forensics persons list|show|clusters|name|merge|split|remove-face|confirm|reject`."""
from __future__ import annotations

import argparse
import os
import sys

from forensics.cli import ProgressBar, add_case, add_cluster, add_json, cluster_spec, emit, open_case, plain



def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("faces", help="face analysis, search by face, clustering")
    fsub = p.add_subparsers(dest="faces_command", metavar="ACTION", required=True)

    a = fsub.add_parser("analyze", help="detect and embed faces in catalogued items that lack them (resumable)")
    add_case(a)
    a.add_argument("--item", type=int, action="append", dest="items", help="only this item (repeatable; a video means its frames)")
    a.add_argument("--detect-size", type=int, help="long side of the copy detection runs on (default 1280; 0 = full size)")
    a.add_argument("--detector", choices=("yunet", "hog"), help="face detector (default yunet; hog = dlib's, as before)")
    a.add_argument("--min-confidence", type=float, help="YuNet confidence cut, 0-1 (default 0.7)")
    a.add_argument("--min-width", type=int, help="YuNet boxes narrower than this many pixels are ignored (default 16)")
    a.add_argument("--upsample", type=int, help="HOG detector upsampling (default 1)")
    a.add_argument("--min-face", type=int, help="faces smaller than this many pixels are flagged low quality (default 40)")
    a.add_argument("--workers", type=int, default=0, help="worker processes for photos (default: one per core)")
    add_cluster(a)
    add_json(a)
    a.set_defaults(func=cmd_analyze)

    s = fsub.add_parser("search", help="find every appearance of a face in the case (photos and video)")
    add_case(s)
    q = s.add_mutually_exclusive_group(required=True)
    q.add_argument("--image", help="query photo (read-only; its SHA-256 is audited)")
    q.add_argument("--face-id", type=int, help="a face already in the case")
    s.add_argument("--face", type=int, default=0, help="which face of the query photo, numbered largest first (default 0)")
    s.add_argument("--top", type=int, default=50,
                   help="print at most this many (default 50); every match is still found and counted")
    s.add_argument("--offset", type=int, default=0, help="print from this match on (the next page)")
    s.add_argument("--threshold", type=float, help="keep every face within this euclidean distance instead of the"
                                                   " calibrated decision (log10 LR >= 1, at least moderate support)")
    s.add_argument("--min-lr", type=float, dest="min_log10_lr",
                   help="keep hits whose log10 likelihood ratio reaches this (default: the calibration's decision level, 1 = LR >= 10)")
    add_json(s)
    s.set_defaults(func=cmd_search)

    c = fsub.add_parser("cluster", help="group faces into identities (analyst decisions are kept)")
    add_case(c)
    c.add_argument("--threshold", type=float, help="cluster on the euclidean distance alone (e.g. 0.55) instead of the"
                                                   " calibrated rule (size-aware LR links, chosen on LFW)")
    c.add_argument("--k", type=int, help="neighbours per face (default 30)")
    add_json(c)
    c.set_defaults(func=cmd_cluster)

    r = fsub.add_parser("check-calibration", help="test the LR calibration on this case's pairs of known truth"
                                                  " (faces together in one photo/frame, tracks, analysts' decisions)")
    add_case(r)
    add_json(r)
    r.set_defaults(func=cmd_check_calibration)

    r = fsub.add_parser("reindex", help="rebuild the face search index from the database")
    add_case(r)
    add_json(r)
    r.set_defaults(func=cmd_reindex)

    st = fsub.add_parser("stats", help="face, track, person and cluster counts")
    add_case(st)
    add_json(st)
    st.set_defaults(func=cmd_stats)

    p = sub.add_parser("persons", help="identities: list, name, merge, split, remove a face")
    psub = p.add_subparsers(dest="persons_command", metavar="ACTION", required=True)
    x = psub.add_parser("list", help="analysts' persons (and, with --clusters, unconfirmed clusters)")
    add_case(x)
    x.add_argument("--clusters", action="store_true", help="also list automatic clusters")
    add_json(x)
    x.set_defaults(func=cmd_list)
    x = psub.add_parser("show", help="a person or cluster with its photos and video appearances")
    add_case(x)
    x.add_argument("person_id", type=int)
    add_json(x)
    x.set_defaults(func=cmd_show)
    x = psub.add_parser("name", help="name a person; naming a cluster confirms it as a person")
    add_case(x)
    x.add_argument("person_id", type=int)
    x.add_argument("name")
    x.add_argument("--exclude", type=int, action="append", default=[], help="face id to leave out of a cluster being confirmed")
    add_json(x)
    x.set_defaults(func=cmd_name)
    x = psub.add_parser("merge", help="merge persons or clusters into the first one")
    add_case(x)
    x.add_argument("target", type=int)
    x.add_argument("sources", type=int, nargs="+")
    add_json(x)
    x.set_defaults(func=cmd_merge)
    x = psub.add_parser("split", help="move faces into a new person")
    add_case(x)
    x.add_argument("face_ids", type=int, nargs="+")
    x.add_argument("--name")
    add_json(x)
    x.set_defaults(func=cmd_split)
    for name, fn, help_ in (("remove-face", cmd_remove, "take a face out of its person (it stays out)"),
                            ("confirm", cmd_confirm, "confirm a suggested face"),
                            ("reject", cmd_reject, "reject a suggested face (it stays out)")):
        x = psub.add_parser(name, help=help_)
        add_case(x)
        x.add_argument("face_id", type=int)
        add_json(x)
        x.set_defaults(func=fn)


def cmd_analyze(args: argparse.Namespace) -> int:
    case = open_case(args)
    opts = {"detect_long_side": args.detect_size, "upsample": args.upsample, "min_face_size": args.min_face,
            "detector": args.detector, "min_confidence": args.min_confidence, "min_width": args.min_width}
    workers = args.workers or os.cpu_count() or 1
    res = case.faces.analyze(args.items, progress=ProgressBar("faces"), options={k: v for k, v in opts.items() if v is not None},
                             workers=workers, cluster=cluster_spec(args))
    print(file=sys.stderr)
    emit(args, res, f"analysed {res['analysed']} of {res['items']} items: {res['faces']} faces, {res['failed']} failed,"
                    f" {res['seconds']}s")
    return 0


def _match_line(m: dict) -> str:
    where = f"{plain(m['path'])} [{m['start']:.1f}s-{m['end']:.1f}s, track {m['track_id']}]" if m["kind"] == "video" \
        else plain(m["path"])
    who = f"  person {m['person_id']} {m['person_name'] or ''}" if m["person_id"] else ""
    lead = f"  LEAD ({m.get('lead_reason') or 'face too small for the calibration'})" if m.get("lead") else ""
    return (f"log10 LR {m['log10_lr']:+6.2f} ({m['verbal']})  d={m['distance']:.3f}  face {m['face_id']:>6}  "
            f"{where}{who}{lead}")


def cmd_search(args: argparse.Namespace) -> int:
    case = open_case(args)
    res = case.faces.search(image_path=args.image, face_id=args.face_id, face_index=args.face, limit=args.top,
                            offset=args.offset, threshold=args.threshold, min_log10_lr=args.min_log10_lr)
    for problem in res.get("index_repaired", []):
        print(f"forensics: warning: face index {problem}", file=sys.stderr)
    emit(args, res, _search_text(res))
    return 0


def _search_text(res: dict) -> str:
    """The page of matches, then the total: 'showing 50 of 200' so no hit is silently left out."""
    cal = res["calibration"]
    within = (f"distance {res['threshold']}" if res["threshold"] is not None
              else f"log10 LR >= {res['min_log10_lr']} (calibration {cal['version']}; verbal scale: {cal['scale']})")
    if not res["total"]:
        return f"no match within {within}"
    first, shown = res["offset"] + 1, len(res["matches"])
    lines = [_match_line(m) for m in res["matches"]]
    lines.append(f"{res['total']} appearances within {within} ({res['photos']} photos,"
                 f" {res['video_tracks']} video tracks); showing {first}-{res['offset'] + shown} of {res['total']}"
                 if shown else f"{res['total']} appearances within {within}; none from {first} on")
    if res["more"]:
        lines.append(f"{res['more']} more not shown: use --top {res['total']} or --offset {res['offset'] + shown}")
    return "\n".join(lines)


def cmd_cluster(args: argparse.Namespace) -> int:
    case = open_case(args)
    kw = {k: v for k, v in (("threshold", args.threshold), ("k", args.k)) if v is not None}
    res = case.faces.cluster(**kw)
    res["persons"] = case.faces.persons()
    res["unconfirmed_clusters"] = case.faces.clusters()
    emit(args, res, "\n".join([f"{res['clusters']} clusters ({res['clustered_faces']} faces), {res['suggested']} faces"
                               f" suggested to persons, {res['low_quality_suggested']} low-quality faces suggested,"
                               f" {res['possible_relatives']} pairs to review as possible relatives / same person,"
                               f" in {res['seconds']}s"] + _check_lines(res["calibration_check"])))
    return 0


def _check_lines(res: dict) -> list[str]:
    lines = [f"calibration {res['calibration']}: "
             + ("DEPARTS from this case" if res["departs"] else "consistent with this case's pairs of known truth")]
    for src, v in res["sources"].items():
        lines.append(f"  {src.replace('_', ' ')}: {v['misleading']} of {v['pairs']} pairs misleading"
                     f" (LFW expects {v['expected_rate']})")
    return lines + [f"  WARNING: {w}" for w in res["warnings"]]


def cmd_check_calibration(args: argparse.Namespace) -> int:
    res = open_case(args).faces.calibration_check()
    emit(args, res, "\n".join(_check_lines(res)))
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    res = open_case(args).faces.reindex()
    emit(args, res, f"face index rebuilt: {res}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    res = open_case(args).faces.stats()
    emit(args, res, "\n".join(f"{k}: {v}" for k, v in res.items()))
    return 0


def _person_line(p: dict) -> str:
    return (f"{p['id']:>5} {p['kind']:<7} {p['name'] or '(unnamed)':<24} faces {p['faces']:>4} confirmed {p['confirmed']:>4}"
            f" suggested {p['suggested']:>4} items {p['items']:>4}")


def cmd_list(args: argparse.Namespace) -> int:
    case = open_case(args)
    res = {"persons": case.faces.persons()}
    if args.clusters:
        res["clusters"] = case.faces.clusters()
    rows = res["persons"] + res.get("clusters", [])
    emit(args, res, "\n".join(_person_line(p) for p in rows) or "no persons")
    return 0


def _show(args: argparse.Namespace, person: dict) -> int:
    lines = [_person_line(person)]
    lines += [f"  photo  face {f['face_id']:>6} {f['link']:<9} {plain(f['path'])}" for f in person["photos"]]
    lines += [f"  video  track {t['id']:>5} {t['link'] or '':<9} {plain(t['path'])} {t['start']:.1f}s-{t['end']:.1f}s"
              for t in person["videos"]]
    emit(args, person, "\n".join(lines))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    return _show(args, open_case(args).faces.person(args.person_id))


def cmd_name(args: argparse.Namespace) -> int:
    faces = open_case(args).faces
    if args.exclude:
        return _show(args, faces.create_person_from_cluster(args.person_id, args.name, args.exclude))
    return _show(args, faces.name_person(args.person_id, args.name))


def cmd_merge(args: argparse.Namespace) -> int:
    return _show(args, open_case(args).faces.merge(args.target, args.sources))


def cmd_split(args: argparse.Namespace) -> int:
    return _show(args, open_case(args).faces.split(args.face_ids, args.name))


def cmd_remove(args: argparse.Namespace) -> int:
    res = open_case(args).faces.remove_face(args.face_id)
    emit(args, res, f"face {res['face_id']} removed from person {res['removed_from']}")
    return 0


def cmd_confirm(args: argparse.Namespace) -> int:
    res = open_case(args).faces.confirm_suggestion(args.face_id)
    emit(args, res, f"face {res['face_id']} confirmed as person {res['person_id']}")
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    res = open_case(args).faces.reject_suggestion(args.face_id)
    emit(args, res, f"face {res['face_id']} rejected from person {res['rejected_from']}")
    return 0
