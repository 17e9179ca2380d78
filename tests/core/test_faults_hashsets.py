"""Hash sets under faults: a killed import leaves nothing that acts, sets can be removed,
and pHash matching has no silent size limit."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from forensics.case import Case
from forensics.ingest.records import IngestOptions
from forensics.model import CaseError
from test_hashsets import case  # noqa: F401  (the same small ingested case)


def _big_list(path: Path, first_md5: str, lines: int) -> None:
    with open(path, "w") as fh:
        fh.write(f"{first_md5}  evidence-match\n")  # in the first committed batch
        for n in range(lines - 1):
            fh.write(hashlib.md5(str(n).encode()).hexdigest() + f"  file{n}\n")


def _entries(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT COUNT(*) FROM hash_set_entries").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_killed_import_leaves_nothing_that_matches_and_reruns(case: Case, tmp_path: Path) -> None:
    item = next(i for i in case.items() if i["path"].endswith("f0.bin"))
    lst = tmp_path / "big.md5"
    total = 200_000
    _big_list(lst, item["md5"], total)
    proc = subprocess.Popen([sys.executable, "-m", "forensics.cli", "hashsets", "import", str(case.path), str(lst),
                             "--name", "BIG", "--category", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _entries(case.path / "case.sqlite") < 50_000:  # the first batch (with the match) is committed
        assert proc.poll() is None, "the import finished before it could be killed: make the list bigger"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < _entries(case.path / "case.sqlite") < total  # really killed partway
    # Nothing of the partial set is visible or acts.
    assert case.hashsets.sets() == []
    listing = subprocess.run([sys.executable, "-m", "forensics.cli", "hashsets", "list", str(case.path)],
                             capture_output=True, text=True, check=True).stdout
    assert listing.startswith("not imported: BIG (an import that did not finish")
    assert case.hashsets.matches() == []
    assert case.hashsets.match_summary()["known_bad_items"] == 0
    case.hashsets.match()
    assert case.item(item["id"])["category"] is None
    # Simply running it again works, with exact counts.
    r = case.hashsets.import_file(lst, "BIG", category=1)
    assert (r["entries"], r["matched_items"], r["categorised_items"]) == (total, 1, 1)
    assert case.store.scalar("SELECT COUNT(*) FROM hash_set_entries") == total
    assert [s["entries"] for s in case.hashsets.sets()] == [total]
    abandoned = case.audit_entries("hashset.abandoned")
    assert len(abandoned) == 1 and 0 < abandoned[0].result["partial_entries_removed"] < total
    assert case.verify_audit().ok


def test_remove_set_is_audited_and_allows_reimport(case: Case, tmp_path: Path) -> None:
    item = next(i for i in case.items() if i["path"].endswith("f1.bin"))
    lst = tmp_path / "l.md5"
    lst.write_text(f"{item['md5']}  x\n")
    case.hashsets.import_file(lst, "L", category=2)
    assert case.hashsets.match_summary()["known_bad_items"] == 1
    with pytest.raises(CaseError, match="remove it first"):
        case.hashsets.import_file(lst, "L")
    out = subprocess.run([sys.executable, "-m", "forensics.cli", "hashsets", "remove", str(case.path), "L", "--json"],
                         check=True, capture_output=True, text=True).stdout
    assert json.loads(out)["matched_items"] == 1
    assert case.hashsets.sets() == [] and case.hashsets.match_summary()["known_bad_items"] == 0
    assert case.store.scalar("SELECT COUNT(*) FROM hash_set_entries") == 0
    entry = case.audit_entries("hashset.remove")[-1]
    assert entry.params["name"] == "L" and entry.result["entries"] == 1
    with pytest.raises(CaseError, match="no hash set"):
        case.hashsets.remove("L")
    assert case.hashsets.import_file(lst, "L")["entries"] == 1


def _vics_phash(records: list[tuple[str, str]]) -> dict:
    return {"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/2.0.xml#Cases",
            "value": [{"CaseNumber": "X", "Media": [
                {"MediaID": n, "MD5": md5, "Category": 1,
                 "AlternativeHashes": [{"HashName": "pHash", "HashValue": ph}]} for n, (md5, ph) in enumerate(records)]}]}


def test_phash_matching_has_no_size_limit(tmp_path: Path) -> None:
    """A set with far more pHash entries than the case has items is matched (the entries
    side is scanned), where it used to be skipped above 200,000 entries."""
    from PIL import Image

    from forensics.hashing.perceptual import to_hex

    ev = tmp_path / "ev"
    ev.mkdir()
    Image.radial_gradient("L").convert("RGB").save(ev / "g.png")
    c = Case.create(tmp_path / "case", name="t", number="1", examiner="ex", authority="w")
    c.ingest([ev], IngestOptions(workers=1, thumbnails=False))
    img = c.items(kind="image")[0]
    ph = int(img["phash"], 16) ^ 0b101  # 2 bits away: a visual match, not a digest match
    recs = [(hashlib.md5(str(n).encode()).hexdigest(), f"{(n * 0x9E3779B97F4A7C15) % (1 << 64):016x}")
            for n in range(3000)]
    recs[1234] = (recs[1234][0], f"{ph:016x}")
    f = tmp_path / "v.json"
    f.write_text(json.dumps(_vics_phash(recs)))
    r = c.hashsets.import_file(f, "P")
    assert r["entries"] == 3000 and r["matched_items"] == 1
    m = c.hashsets.matches(img["id"])
    assert [(x["hash"], x["distance"]) for x in m] == [("phash", 2)]
    assert to_hex(ph) != img["phash"]
    c.close()
