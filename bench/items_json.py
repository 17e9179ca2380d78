"""`forensics items --json` with hash-set matches, tags and persons: the batched
`Case.items_detailed` against the per-item way (one `item`, one `hashsets.matches` and
one `faces.faces_of_item` call per item), measured in the same run on the same case; and
the cost of progress reports and cancel checks in a hash-set import (the same list
imported with and without them).

    uv run python bench/items_json.py [--items 20000] [--hashes 200000]
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import cpu_seconds, load_average, machine_line, scratch_case, table, timed  # noqa: E402


def build(case, root: Path, n: int) -> None:
    from forensics.ingest.records import IngestOptions

    ev = root / "ev"
    ev.mkdir()
    for i in range(n):
        (ev / f"d{i % 50}").mkdir(exist_ok=True)
        (ev / f"d{i % 50}" / f"f{i}.bin").write_bytes(f"item {i} ".encode() * 4)
    case.ingest([ev], IngestOptions(workers=2, thumbnails=False, faces=False))
    items = case.items()
    lst = root / "known.md5"
    lst.write_text("".join(f"{i['md5']}  x\n" for i in items[::20]))  # 5 % of the items match
    case.hashsets.import_file(lst, "known", category=1)
    case.tag_items([i["id"] for i in items[::10]], add_tags=["reviewed"])


def per_item(case) -> int:
    out = 0
    for it in case.items():
        row = case.item(it["id"])
        row["hash_matches"] = case.hashsets.matches(item_id=it["id"])
        row["faces"] = case.faces.faces_of_item(it["id"])
        out += 1
    return out


def import_cost(root: Path, lines: int) -> dict[str, float]:
    """CPU seconds of one import per configuration (the mean of two), each into a fresh case,
    in the order A B B A so that neither side gains from warm caches or a quieter machine."""
    lst = root / "big.md5"
    with open(lst, "w") as fh:
        fh.writelines(hashlib.md5(str(i).encode()).hexdigest() + "\n" for i in range(lines))
    out: dict[str, list[float]] = {"plain": [], "watched": []}
    for kind in ("plain", "watched", "watched", "plain"):
        with scratch_case("items-json-import-") as case:
            kw = {"progress": [].append, "cancel": threading.Event()} if kind == "watched" else {}
            before = cpu_seconds()[0]
            case.hashsets.import_file(lst, kind, **kw)
            out[kind].append(cpu_seconds()[0] - before)
    return {k: sum(v) / len(v) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--hashes", type=int, default=200_000)
    args = ap.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="items-json-") as tmp, scratch_case("items-json-") as case:
        build(case, Path(tmp), args.items)
        with timed() as batched:
            rows = case.items_detailed()
        with timed() as naive:
            count = per_item(case)
        assert count == len(rows) == args.items
        cost = import_cost(Path(tmp), args.hashes)
        plain, watched = cost["plain"], cost["watched"]
    print(table([["per item (item + matches + faces calls)", f"{naive.seconds:.2f}", f"{args.items / naive.seconds:,.0f}"],
                 ["items_detailed (batched)", f"{batched.seconds:.2f}", f"{args.items / batched.seconds:,.0f}"]],
                ["listing with matches, tags, persons", "seconds", "items/s"]))
    print(table([["no progress, no cancel", f"{plain:.2f}", f"{args.hashes / plain:,.0f}"],
                 ["progress + cancel checks", f"{watched:.2f}", f"{args.hashes / watched:,.0f}"]],
                [f"hash-set import, {args.hashes:,} lines", "CPU seconds", "hashes/CPU s"]))
    print(f"load average {load_average():.1f}")


if __name__ == "__main__":
    main()
