"""Known-hash set import (hash lists, NSRL RDS v3, VICS 1.3/2.0), matching, VICS round trip."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from forensics.case import Case
from forensics.ingest.records import IngestOptions
from forensics.model import CaseError


@pytest.fixture()
def case(tmp_path: Path):
    ev = tmp_path / "ev"
    ev.mkdir()
    for n in range(4):
        (ev / f"f{n}.bin").write_bytes(f"file number {n}".encode() * 10)
    c = Case.create(tmp_path / "case", name="t", number="N-1", examiner="ex", authority="warrant 9")
    c.ingest([ev], IngestOptions(workers=1, thumbnails=False))
    yield c
    c.close()


def _items(case: Case) -> dict[str, dict]:
    return {Path(i["path"]).name: i for i in case.items()}


def test_md5sum_list_with_bom_header_and_bad_line(case: Case, tmp_path: Path) -> None:
    it = _items(case)
    f = tmp_path / "bad.md5"
    f.write_bytes(b"\xef\xbb\xbfMD5\n" + f"{it['f0.bin']['md5']}  f0.bin\n".encode()
                  + b"zzzz not a hash\n" + f"{it['f1.bin']['sha256']} *f1.bin\n".encode()
                  + f"SHA1 (x) = {it['f2.bin']['sha1']}\n".encode())
    r = case.hashsets.import_file(f, "list", kind="known-bad", category=2)
    assert (r["entries"], r["rejected"], r["matched_items"]) == (3, 1, 3)
    assert r["format"] == "hashlist"
    assert case.item(it["f0.bin"]["id"])["category"] == 2
    assert case.hashsets.errors(r["set_id"])[0]["line"] == 3
    ms = case.hashsets.matches(item_id=it["f1.bin"]["id"])
    assert ms[0]["hash"] == "sha256" and ms[0]["set_name"] == "list"
    assert case.audit_entries("hashset.import")[-1].result["entries"] == 3
    with pytest.raises(CaseError):
        case.hashsets.import_file(f, "list")


def test_known_good_nsrl_sqlite(case: Case, tmp_path: Path) -> None:
    it = _items(case)
    db = tmp_path / "RDS_2024.03.1_modern_minimal.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE FILE (sha256 TEXT, sha1 TEXT, md5 TEXT, crc32 TEXT, file_name TEXT, file_size INTEGER, package_id INTEGER)")
    conn.executemany("INSERT INTO FILE VALUES (?, ?, ?, '00', ?, 1, 1)",
                     [(it["f3.bin"]["sha256"].upper(), it["f3.bin"]["sha1"].upper(), it["f3.bin"]["md5"].upper(), "f3"),
                      ("ab" * 32, "cd" * 20, "ef" * 16, "other"), ("bad", None, None, "broken")])
    conn.commit()
    conn.close()
    r = case.hashsets.import_file(db, "nsrl", kind="known-good")
    assert (r["format"], r["entries"], r["rejected"], r["matched_items"]) == ("nsrl-rds3", 2, 1, 1)
    assert case.hashsets.known_good_item_ids() == {it["f3.bin"]["id"]}
    assert case.item(it["f3.bin"]["id"])["category"] is None  # known-good never categorises


def _vics13(md5: str, sha1: str) -> dict:
    return {"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases",
            "value": [{"Case No.": "X", "Media": [
                {"MediaID": 1, "MD5": md5.upper(), "SHA1": sha1.upper(), "Category": "1", "VictimIdentified": "true",
                 "Series": "S-1", "MediaSize": "140"},
                {"MediaID": 2, "MD5": "nothex", "Category": 1}]}]}


def test_vics_13_and_20_with_string_booleans(case: Case, tmp_path: Path) -> None:
    it = _items(case)
    f13 = tmp_path / "v13.json"
    f13.write_bytes(b"\xef\xbb\xbf" + json.dumps(_vics13(it["f0.bin"]["md5"], it["f0.bin"]["sha1"])).encode())
    r = case.hashsets.import_file(f13, "vics13")
    assert (r["format"], r["entries"], r["rejected"], r["matched_items"]) == ("vics-1.3", 1, 1, 1)
    m = case.hashsets.matches(item_id=it["f0.bin"]["id"])[0]
    assert (m["category"], m["series"], m["victim_identified"]) == (1, "S-1", True)
    f20 = tmp_path / "v20.json"
    f20.write_text(json.dumps({"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media",
                               "value": [{"MediaID": 1, "MD5": it["f1.bin"]["md5"], "Category": 3, "IsPrecategorized": "false",
                                          "VictimIdentified": "0",
                                          "AlternativeHashes": [{"HashName": "pHash", "HashValue": "8000000000000001"}]}]}))
    r = case.hashsets.import_file(f20, "vics20")
    assert (r["format"], r["entries"], r["matched_items"]) == ("vics-2.0", 1, 1)
    assert case.item(it["f1.bin"]["id"])["category"] == 3
    summary = case.hashsets.match_summary()
    # VICS category 3 (CGI / animation) is applied but is not one of the known-bad categories 1-2.
    assert summary["known_bad_by_category"] == {1: 1}
    assert summary["by_category"] == {1: 1, 3: 1}


def test_vics_export_round_trip(case: Case, tmp_path: Path) -> None:
    it = _items(case)
    case.tag_items([it["f0.bin"]["id"]], category=1, add_tags=["series-a", "seen"], note="found in downloads")
    it = _items(case)
    out = tmp_path / "export.json"
    cli = [sys.executable, "-m", "forensics.cli", "export", "vics", str(case.path), "--out", str(out), "--json",
           "--form", "cases"]
    res = json.loads(subprocess.run(cli, check=True, capture_output=True, text=True).stdout)
    assert res["media"] == 4 and res["form"] == "cases"
    doc = json.loads(out.read_text())
    assert doc["@odata.context"].endswith("2.0.xml/Default/$metadata#Cases")
    media = {m["MD5"].lower(): m for m in doc["value"][0]["Media"]}
    m0 = media[it["f0.bin"]["md5"]]
    assert m0["MD5"] == it["f0.bin"]["md5"].upper() and m0["SHA1"] == it["f0.bin"]["sha1"].upper()
    assert m0["Category"] == 1 and m0["Tags"] == "seen;series-a" and m0["IsPrecategorized"] is False
    assert m0["MediaFiles"][0]["FilePath"].endswith("f0.bin") and m0["MediaSize"] == it["f0.bin"]["size"]
    assert m0["RelativeFilePath"] == "f0.bin" and m0["MediaFiles"][0]["MediaFileID"] == it["f0.bin"]["id"]
    assert {"MD5": m0["MD5"], "HashName": "SHA256", "HashValue": it["f0.bin"]["sha256"].upper()} in m0["AlternativeHashes"]
    # VICS 2.0 Case record (docs/vics.md): CaseID is a GUID, the number and contact apart.
    head = doc["value"][0]
    assert head["@forensics.signedAuditHead"].startswith("FSH1.")  # an OData instance annotation
    assert {k for k in head if not k.startswith("@")} == {"CaseID", "CaseNumber", "ContactName", "SourceApplicationName", "SourceApplicationVersion", "Media",
                         "TotalMediaFiles", "TotalPrecategorized"}
    assert str(uuid.UUID(head["CaseID"])) == head["CaseID"] and head["CaseNumber"] == "N-1" and head["ContactName"] == "ex"
    assert head["TotalMediaFiles"] == 4 and head["TotalPrecategorized"] == 0
    assert all(f["MD5"] == m["MD5"] for m in doc["value"][0]["Media"]
               for f in m["MediaFiles"] + m.get("AlternativeHashes", []) + m.get("Exifs", []))
    # Re-import into the same case: every exported file matches, with its category.
    r = case.hashsets.import_file(out, "round trip")
    assert (r["format"], r["entries"], r["rejected"], r["matched_items"]) == ("vics-2.0", 4, 0, 4)
    rows = case.store.query("SELECT md5, sha1, sha256, category, extra FROM hash_set_entries WHERE set_id = ?", (r["set_id"],))
    got = {row["md5"]: row for row in rows}
    for item in it.values():
        row = got[item["md5"]]
        assert (row["sha1"], row["sha256"], row["category"]) == (item["sha1"], item["sha256"], item["category"])
    extra = json.loads(got[it["f0.bin"]["md5"]]["extra"])
    assert extra["Tags"] == "seen;series-a" and extra["Comments"] == "found in downloads"
    assert any(e.action == "export.vics" for e in case.audit_entries("export."))


def test_large_list_streams(case: Case, tmp_path: Path) -> None:
    f = tmp_path / "big.md5"
    with open(f, "w") as fh:
        for n in range(120_000):
            fh.write(hashlib.md5(str(n).encode()).hexdigest() + f"  file{n}\n")
    r = case.hashsets.import_file(f, "big", kind="known-good")
    assert r["entries"] == 120_000 and r["rejected"] == 0


def test_tag_cli_whole_group(tmp_path: Path) -> None:
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "a.txt").write_bytes(b"same bytes")
    (ev / "b.txt").write_bytes(b"same bytes")
    (ev / "c.txt").write_bytes(b"other")
    c = Case.create(tmp_path / "case", name="t", number="1", examiner="ex", authority="w")
    c.ingest([ev], IngestOptions(workers=1, thumbnails=False))
    c.copies.group()
    ids = {Path(i["path"]).name: i["id"] for i in c.items()}
    c.close()
    cli = [sys.executable, "-m", "forensics.cli", "tag", str(tmp_path / "case"), str(ids["a.txt"]),
           "--category", "2", "--tag", "review", "--whole-group", "--bookmark", "--json"]
    out = json.loads(subprocess.run(cli, check=True, capture_output=True, text=True).stdout)
    touched = {i["id"]: i for i in out["items"]}
    assert set(touched) == {ids["a.txt"], ids["b.txt"]}
    assert all(i["category"] == 2 and i["tags"] == ["review"] and i["bookmarked"] for i in touched.values())
