"""Hash-set readers alone (no database): records per second of this project's VICS and hash
list readers against a bare baseline measured in the same run on the same file.

Baselines: `ijson.items(f, "value.item")` (how VIC-CatParser streams a distribution file:
parsing only, no hashes checked) and a bare `split()` of each md5sum line. The VICS file is
the distribution form (flat Media, categories 0-4), once in UTF-8 and once in UTF-16 LE
with BOM (as X-Ways' Clees4All wrote before 1.38), which the baseline cannot read at all.

    uv run python bench/hashset_readers.py [--records 200000]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(fn) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = fn()
    return n, time.perf_counter() - t0


def main() -> None:
    import ijson

    from forensics.hashsets.formats import BadRecord, read_hashlist
    from forensics.hashsets.vics import read_vics

    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    n = ap.parse_args().records
    recs = [{"MediaID": i + 1, "Category": i % 5, "MD5": hashlib.md5(f"d{i}".encode()).hexdigest().upper(),
             "SHA1": hashlib.sha1(f"d{i}".encode()).hexdigest().upper(), "MediaSize": 1000 + i,
             "DateUpdated": "2023-06-07T02:31:49.8300Z", "IsPrecategorized": "false"} for i in range(n)]
    text = json.dumps({"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media",
                       "value": recs}, separators=(",", ":"))
    with tempfile.TemporaryDirectory() as tmp:
        utf8, utf16, md5 = Path(tmp) / "d8.json", Path(tmp) / "d16.json", Path(tmp) / "list.md5"
        utf8.write_text(text, encoding="utf-8")
        utf16.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
        md5.write_text("".join(f"{r['MD5'].lower()}  ./evidence/file{i}.jpg\n" for i, r in enumerate(recs)))
        del text, recs

        def base_json() -> int:
            with open(utf8, "rb") as f:
                return sum(1 for _ in ijson.items(f, "value.item"))

        def base_lines() -> int:
            with open(md5, "rb") as f:
                return sum(1 for line in f if line.split()[0])

        rows = [
            ("VICS 2.0 UTF-8: ijson.items baseline", utf8, base_json),
            ("VICS 2.0 UTF-8: read_vics", utf8, lambda: sum(not isinstance(r, BadRecord) for r in read_vics(utf8))),
            ("VICS 2.0 UTF-16 LE BOM: read_vics", utf16, lambda: sum(not isinstance(r, BadRecord) for r in read_vics(utf16))),
            ("md5sum: split() baseline", md5, base_lines),
            ("md5sum: read_hashlist", md5, lambda: sum(not isinstance(r, BadRecord) for r in read_hashlist(md5))),
        ]
        print(f"{'reader':<40} {'file MiB':>8} {'records':>9} {'seconds':>8} {'records/s':>10}")
        for label, path, fn in rows:
            count, secs = _timed(fn)
            print(f"{label:<40} {path.stat().st_size / 2**20:>8.1f} {count:>9,} {secs:>8.2f} {count / secs:>10,.0f}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
