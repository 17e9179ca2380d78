"""CLI: copy groups, search by image, known-hash sets, tagging and VICS export."""
from __future__ import annotations

import argparse
import sys

from forensics.cli import ProgressBar, add_case, add_json, emit, open_case, plain



def cmd_copies(args: argparse.Namespace) -> int:
    with open_case(args) as case:
        run, ran = case.copies.group_if_stale(progress=ProgressBar("copies"), force=args.regroup)
        if ran:
            print(file=sys.stderr)
        groups = case.copies.groups(kind=args.kind, limit=args.limit)
        data = {"run": run, "groups": groups}
        lines = [f"{len(groups)} copy groups"] + [
            f"group {g['group_id']} ({g['kind']}, {g['size']} items): " + ", ".join(plain(m["path"]) for m in g["members"])
            for g in groups]
        emit(args, data, "\n".join(lines))
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    with open_case(args) as case:
        r = case.copies.similar(image_path=args.image, item_id=args.item_id, threshold=args.threshold, top=args.top)
        text = "\n".join([f"{r['total']} visual copies (searched {r['searched']:,} hashes)"] + [
            f"{m['distance']:>3}  pHash {m['distances']['phash']:>2} dHash {m['distances']['dhash']:>2}  {m['variant']:<10} {plain(m['path'])}"
            + (f" @ {m['frame_time']:.1f}s" if m["frame_time"] is not None else "") for m in r["matches"]])
        emit(args, r, text)
    return 0


def cmd_hashsets_import(args: argparse.Namespace) -> int:
    with open_case(args) as case:
        r = case.hashsets.import_file(args.file, args.name, kind=args.kind, category=args.category, progress=ProgressBar("hash set"))
        print(file=sys.stderr)
        statuses = ", ".join(f"{n:,} {k}" for k, n in r["by_status"].items())
        emit(args, r, f"imported {r['entries']:,} hashes ({statuses}; {r['rejected']:,} rejected,"
                      f" {r['zero_length']:,} of empty files never match) as {r['name']} [{r['format']}];"
                      f" {r['matched_items']} items match, {r['categorised_items']} categorised")
    return 0


def cmd_hashsets_list(args: argparse.Namespace) -> int:
    with open_case(args) as case:
        sets, unfinished = case.hashsets.sets(), case.hashsets.unfinished()
        lines = [f"{s['set_id']}: {plain(s['name'])} ({s['format']}; default {s['kind']}) {s['entries']:,} hashes"
                 f" ({', '.join(f'{n:,} {k}' for k, n in s['statuses'].items())}), {s['matched_items']} items match"
                 f"\n    categorises: {s['category_handling']}" for s in sets]
        lines += [f"not imported: {plain(u['name'])} (an import that did not finish, {u['entries_so_far']:,} hashes"
                  " so far, never matched; run the import again)" for u in unfinished]
        emit(args, {"sets": sets, "unfinished": unfinished}, "\n".join(lines) or "no hash sets")
    return 0


def cmd_hashsets_remove(args: argparse.Namespace) -> int:
    with open_case(args) as case:
        r = case.hashsets.remove(args.set)
        emit(args, r, f"removed hash set {r['name']} ({r['entries']:,} hashes, {r['matched_items']} items matched);"
                      " categories it gave to items are kept")
    return 0


def cmd_hashsets_matches(args: argparse.Namespace) -> int:
    with open_case(args) as case:
        if args.summary:
            emit(args, case.hashsets.match_summary())
            return 0
        ms = case.hashsets.matches(item_id=args.item_id)
        emit(args, {"matches": ms}, "\n".join(f"item {m['item_id']}: {m['set_name']} ({m['kind']}) category {m['category']}"
                                              f" by {m['hash']}  {plain(m['path'])}" for m in ms) or "no matches")
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    with open_case(args) as case:
        bookmarked = True if args.bookmark else (False if args.unbookmark else None)
        before = case.tag_items(args.items, category=args.category, clear_category=args.clear_category,
                                add_tags=args.tag or (), remove_tags=args.untag or (), note=args.note,
                                bookmarked=bookmarked, whole_copy_group=args.whole_group)
        items = case.items(ids=sorted(before))
        data = {"items": [{"id": i["id"], "path": i["path"], "category": i["category"], "tags": i["tags"],
                           "bookmarked": i["bookmarked"], "note": i["note"]} for i in items], "previous": before}
        emit(args, data, f"updated {len(items)} items")
    return 0


def cmd_export_vics(args: argparse.Namespace) -> int:
    with open_case(args) as case:
        r = case.export_vics(args.out, form=args.form)
        emit(args, r, f"wrote {r['media']} Media records ({r['files']} files, {r['segments']} video segments) as VICS"
                      f" {r['version']} ({r['form']}) to {r['out']}  sha256 {r['sha256']}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("copies", help="binary and visual copy groups of the case")
    add_case(p)
    p.add_argument("--regroup", action="store_true", help="recompute the groups even when they are current")
    p.add_argument("--kind", choices=("binary", "visual"))
    p.add_argument("--limit", type=int)
    add_json(p)
    p.set_defaults(func=cmd_copies)

    p = sub.add_parser("similar", help="search the case by image: visual copies, mirrored and rotated too")
    add_case(p)
    q = p.add_mutually_exclusive_group(required=True)
    q.add_argument("--image", help="a photo from outside the case")
    q.add_argument("--item-id", type=int, help="an image or video frame of the case")
    p.add_argument("--threshold", type=int, help="pHash bound in bits (dHash bounds scale with it; default 16)")
    p.add_argument("--top", type=int, default=100)
    add_json(p)
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("hashsets", help="known-hash sets: import, list, remove, matches")
    hs = p.add_subparsers(dest="hashsets_command", metavar="ACTION", required=True)
    i = hs.add_parser("import", help="import a hash list, NSRL RDS v3 database or VICS JSON file")
    add_case(i)
    i.add_argument("file", metavar="FILE")
    i.add_argument("--name", required=True)
    i.add_argument("--kind", choices=("known-bad", "known-good"), default="known-bad",
                   help="what entries without a category are (hash lists, NSRL); a VICS entry's own category"
                        " decides for it: 0 non-pertinent, 1-2 known-bad, others categorised")
    i.add_argument("--category", type=int, help="category for known-bad entries that carry none")
    add_json(i)
    i.set_defaults(func=cmd_hashsets_import)
    ls = hs.add_parser("list", help="imported sets")
    add_case(ls)
    add_json(ls)
    ls.set_defaults(func=cmd_hashsets_list)
    r = hs.add_parser("remove", help="remove a set, its entries and its matches (audited; item categories stay)")
    add_case(r)
    r.add_argument("set", metavar="SET", help="name or number of the set")
    add_json(r)
    r.set_defaults(func=cmd_hashsets_remove)
    m = hs.add_parser("matches", help="items matching a set")
    add_case(m)
    m.add_argument("--item-id", type=int)
    m.add_argument("--summary", action="store_true", help="counts by set and category")
    add_json(m)
    m.set_defaults(func=cmd_hashsets_matches)

    p = sub.add_parser("tag", help="categorise, tag, annotate or bookmark items")
    add_case(p)
    p.add_argument("items", metavar="ITEM", nargs="+", type=int)
    p.add_argument("--category", type=int)
    p.add_argument("--clear-category", action="store_true")
    p.add_argument("--tag", action="append", help="add a tag (repeatable)")
    p.add_argument("--untag", action="append", help="remove a tag (repeatable)")
    p.add_argument("--note")
    b = p.add_mutually_exclusive_group()
    b.add_argument("--bookmark", action="store_true")
    b.add_argument("--unbookmark", action="store_true")
    p.add_argument("--whole-group", action="store_true", help="apply to every item of their copy groups")
    add_json(p)
    p.set_defaults(func=cmd_tag)

    p = sub.add_parser("export", help="export the case for exchange")
    ex = p.add_subparsers(dest="export_command", metavar="FORMAT", required=True)
    v = ex.add_parser("vics", help="Project VIC VICS JSON (2.0 flat Media list by default, as IPED and Griffeye read)")
    add_case(v)
    v.add_argument("--out", required=True)
    v.add_argument("--form", choices=("media", "cases", "1.3"), default="media",
                   help="media: VICS 2.0 flat Media list (default); cases: VICS 2.0 Case record holding the Media;"
                        " 1.3: VICS 1.3 flat Media list with string flags")
    add_json(v)
    v.set_defaults(func=cmd_export_vics)
