"""Hash-set import: a generated md5sum file of 1M and 5M lines (time, peak RSS), plus an
NSRL RDS v3-shaped SQLite database and VICS 1.3 and 2.0 files (entry counts), and one
distribution-style VICS 2.0 file (flat Media, categories 0-4 mixed) in UTF-8 and in
UTF-16 LE with BOM, so the cost of re-encoding UTF-16 is measured against UTF-8 in the
same run.

Each size runs in its own child process so that its peak RSS is its own: bounded memory
means the 5M-line peak is about the 1M-line peak, not five times it.

    uv run python bench/hashsets_import.py [--lines 1000000 5000000]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_md5sum(path: Path, lines: int) -> None:
    """`md5sum` output: '<32 hex>  <path>' per line, deterministic."""
    import hashlib

    with open(path, "w", encoding="utf-8") as f:
        buf = []
        for i in range(lines):
            buf.append(f"{hashlib.md5(i.to_bytes(8, 'little')).hexdigest()}  ./evidence/dir{i % 997}/file{i}.jpg\n")
            if len(buf) == 100_000:
                f.writelines(buf)
                buf.clear()
        f.writelines(buf)


def write_nsrl(path: Path, rows: int) -> None:
    """The RDS v3 FILE table layout (sha256, sha1, md5, crc32, file_name, file_size, package_id)."""
    import hashlib

    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE FILE (sha256 TEXT, sha1 TEXT, md5 TEXT, crc32 TEXT, file_name TEXT,"
                 " file_size INTEGER, package_id INTEGER)")
    conn.executemany("INSERT INTO FILE VALUES (?, ?, ?, '00000000', ?, 1, 1)",
                     ((hashlib.sha256(str(i).encode()).hexdigest().upper(), hashlib.sha1(str(i).encode()).hexdigest().upper(),
                       hashlib.md5(str(i).encode()).hexdigest().upper(), f"f{i}") for i in range(rows)))
    conn.commit()
    conn.close()


def write_vics(path: Path, version: str, media: int) -> None:
    import hashlib

    recs = [{"MediaID": i + 1, "MD5": hashlib.md5(f"v{i}".encode()).hexdigest().upper(),
             "SHA1": hashlib.sha1(f"v{i}".encode()).hexdigest().upper(), "Category": str(i % 4),
             "VictimIdentified": "true" if i % 2 else "false", "Series": f"S{i % 7}", "MediaSize": str(1000 + i),
             "MediaFiles": [{"FileName": f"{i}.jpg", "FilePath": f"C:\\\\x\\\\{i}.jpg"}],
             "AlternativeHashes": [{"HashName": "pHash", "HashValue": f"{i:016x}"}]} for i in range(media)]
    if version == "1.3":
        doc = {"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media", "value": recs}
    else:
        doc = {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases",
               "value": [{"CaseID": "4b0c2a61-0000-4000-8000-000000000001", "CaseNumber": "B-2", "Media": recs}]}
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())


def write_distribution(path: Path, media: int, encoding: str) -> None:
    """The distribution form (fcgreg/VIC-CatParser's example): compact, flat Media list."""
    import hashlib

    recs = [{"MediaID": i + 1, "Category": i % 5, "MD5": hashlib.md5(f"d{i}".encode()).hexdigest().upper(),
             "SHA1": hashlib.sha1(f"d{i}".encode()).hexdigest().upper(), "MediaSize": 1000 + i,
             "DateUpdated": "2023-06-07T02:31:49.8300Z", "IsPrecategorized": "false"} for i in range(media)]
    text = json.dumps({"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media",
                       "value": recs}, separators=(",", ":"))
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le") if encoding == "utf-16" else text.encode("utf-8"))


def child(kind: str, size: int, tmp: Path) -> None:
    """Import one generated set into a fresh case; print one JSON line."""
    from forensics.case import Case

    src = tmp / f"{kind}-{size}"
    t0 = time.perf_counter()
    if kind == "md5sum":
        write_md5sum(src, size)
    elif kind == "nsrl":
        write_nsrl(src, size)
    elif kind.startswith("dist-"):
        write_distribution(src, size, kind[5:])
    else:
        write_vics(src, kind[-3:], size)
    gen = time.perf_counter() - t0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    case = Case.create(tmp / f"case-{kind}-{size}", name="hash bench", number="B-2", examiner="bench", authority="benchmark")
    t0 = time.perf_counter()
    r = case.hashsets.import_file(src, f"{kind}-{size}", kind="known-good" if kind == "nsrl" else "known-bad")
    secs = time.perf_counter() - t0
    case.close()
    print(json.dumps({"kind": kind, "size": size, "file_mb": round(src.stat().st_size / 2**20, 1), "generate_s": round(gen, 1),
                      "import_s": round(secs, 1), "entries": r["entries"], "rejected": r["rejected"], "format": r["format"],
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      "rss_before_import_mb": round(rss_before)}))
    src.unlink()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--only", nargs="+", help="run only these kinds (md5sum nsrl vics-1.3 vics-2.0 dist-utf-8 dist-utf-16)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [("md5sum", n) for n in args.lines] + [("nsrl", 100_000), ("vics-1.3", 20_000), ("vics-2.0", 20_000),
                                                       ("dist-utf-8", 200_000), ("dist-utf-16", 200_000)]
        for kind, n in jobs:
            if args.only and kind not in args.only:
                continue
            out = subprocess.run([sys.executable, __file__, "--child", kind, str(n), tmp], capture_output=True, text=True)
            if out.returncode:
                print(f"{kind} {n}: failed\n{out.stderr[-2000:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{kind:>9} {n:>10,} {'lines' if kind == 'md5sum' else 'records'}: {r['file_mb']} MiB file,"
                  f" import {r['import_s']} s ({n / max(r['import_s'], 1e-9):,.0f}/s), entries {r['entries']:,},"
                  f" rejected {r['rejected']}, format {r['format']}, peak RSS {r['peak_rss_mb']} MiB"
                  f" (before import {r['rss_before_import_mb']} MiB)")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
