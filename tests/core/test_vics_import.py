"""Hash-set imports of files written the way other tools write them (sources in docs/vics.md),
not by this project's export: IPED's 1.3 flat form, the 2.0 distribution form with mixed
categories, X-Ways Clees4All's Cases form (CRLF, {GUID}, JSON booleans; UTF-16 LE before
1.38), a GriffeyePS-written file, BOM variants; unknown formats fail loudly."""
from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from forensics.browse import ItemFilter, item_ids
from forensics.case import Case
from forensics.ingest.records import IngestOptions
from forensics.model import CaseError

VICS20_MEDIA = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
VICS13_MEDIA = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"
N = 10  # evidence files f0..f9


@pytest.fixture()
def case(tmp_path: Path):
    ev = tmp_path / "ev"
    ev.mkdir()
    for n in range(N):
        (ev / f"f{n}.jpg").write_bytes(f"evidence file {n} ".encode() * 50)
    (ev / "empty.jpg").write_bytes(b"")
    c = Case.create(tmp_path / "case", name="t", number="N-14", examiner="ex", authority="warrant 14")
    c.ingest([ev], IngestOptions(workers=1, thumbnails=False))
    yield c
    c.close()


def _items(case: Case) -> dict[str, dict]:
    return {Path(i["path"]).name: i for i in case.items(include_frames=False)}


def _names(case: Case, ids) -> set[str]:
    return {Path(i["path"]).name for i in case.items(include_frames=False) if i["id"] in set(ids)}


def _distribution(it: dict) -> str:
    """VICS 2.0 as distributed (fcgreg/VIC-CatParser utils/example-VIC-data.json): compact,
    flat Media, upper-case hashes, integer Category 0-4 mixed, IsPrecategorized a string,
    DateUpdated with four fraction digits, Exifs on some records; plus the empty file's MD5."""
    cats = [0, 0, 1, 2, 3, 4, 1, 0]
    value = []
    for n, cat in enumerate(cats):
        m = {"MediaID": n + 1, "Category": cat, "MD5": it[f"f{n}.jpg"]["md5"].upper()}
        if n % 2:
            m["SHA1"] = it[f"f{n}.jpg"]["sha1"].upper()
        m.update({"MediaSize": it[f"f{n}.jpg"]["size"], "DateUpdated": "2023-06-07T02:31:49.8300Z",
                  "IsPrecategorized": "false"})
        if n == 1:
            m["Exifs"] = [{"MD5": m["MD5"], "PropertyName": "Software", "PropertyValue": "Adobe Fireworks CS4"}]
        value.append(m)
    value.append({"MediaID": 99, "Category": 1, "MD5": "D41D8CD98F00B204E9800998ECF8427E", "MediaSize": 0,
                  "IsPrecategorized": "false"})
    return json.dumps({"@odata.context": VICS20_MEDIA, "value": value}, separators=(",", ":"))


def _check_distribution(case: Case, r: dict) -> None:
    it = _items(case)
    assert (r["entries"], r["rejected"], r["zero_length"]) == (9, 0, 1)
    assert r["by_status"] == {"categorised": 2, "known-bad": 4, "non-pertinent": 3}
    got = {n: it[n]["category"] for n in it}
    assert got == {"f0.jpg": 0, "f1.jpg": 0, "f2.jpg": 1, "f3.jpg": 2, "f4.jpg": 3, "f5.jpg": 4, "f6.jpg": 1,
                   "f7.jpg": 0, "f8.jpg": None, "f9.jpg": None, "empty.jpg": None}
    assert _names(case, case.hashsets.known_bad_item_ids()) == {"f2.jpg", "f3.jpg", "f6.jpg"}
    assert _names(case, case.hashsets.known_good_item_ids()) == {"f0.jpg", "f1.jpg", "f7.jpg"}
    assert r["matched_items"] == 8  # the empty file's hash never matches
    s = case.hashsets.match_summary()
    assert s["known_bad_by_category"] == {1: 2, 2: 1} and s["known_bad_items"] == 3
    assert s["by_category"] == {0: 3, 1: 2, 2: 1, 3: 1, 4: 1} and s["non_pertinent_items"] == 3
    for m in case.hashsets.matches(it["f0.jpg"]["id"]):
        assert (m["kind"], m["category"]) == ("non-pertinent", 0)
    shown = _names(case, item_ids(case, ItemFilter(kinds=("image", "video", "other"), hide_known_good=True)))
    assert shown == {"f2.jpg", "f3.jpg", "f4.jpg", "f5.jpg", "f6.jpg", "f8.jpg", "f9.jpg", "empty.jpg"}
    e1 = json.loads(case.store.scalar("SELECT extra FROM hash_set_entries WHERE md5 = ?", (it["f1.jpg"]["md5"],)))
    assert e1["Exifs"][0]["PropertyValue"] == "Adobe Fireworks CS4" and e1["DateUpdated"] == "2023-06-07T02:31:49.8300Z"
    assert e1["IsPrecategorized"] == "false" and e1["MediaID"] == 2


@pytest.mark.parametrize("kind", ["known-good", "known-bad"])
def test_distribution_file_with_mixed_categories(case: Case, tmp_path: Path, kind: str) -> None:
    f = tmp_path / "ProjectVIC_2023-06.json"
    f.write_text(_distribution(_items(case)), encoding="utf-8")
    # Whatever kind the set is given, each entry's category decides.
    r = case.hashsets.import_file(f, "vic", kind=kind)
    assert r["format"] == "vics-2.0"
    _check_distribution(case, r)


@pytest.mark.parametrize("encoding,bom", [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"),
                                          ("utf-16-be", b"\xfe\xff")])
def test_distribution_file_with_bom_and_utf16(case: Case, tmp_path: Path, encoding: str, bom: bytes) -> None:
    f = tmp_path / "vic.json"
    f.write_bytes(bom + _distribution(_items(case)).encode(encoding))
    r = case.hashsets.import_file(f, "vic", kind="known-bad")
    _check_distribution(case, r)
    assert json.loads(case.store.scalar("SELECT source_info FROM hash_sets WHERE id = ?", (r["set_id"],)))["encoding"] == encoding


def test_iped_13_flat_form_with_photodna_and_string_flags(case: Case, tmp_path: Path) -> None:
    """VICS 1.3 as IPED's ProjectVICHashLookup reads it: odata.metadata '...1.3.xml#Media',
    flags as "true"/"false" strings (Boolean.valueOf(nextTextValue())), PhotoDNA as a
    192-character base64 HashValue in AlternativeHashes."""
    it = _items(case)
    pdna = base64.b64encode(hashlib.sha512(b"pdna").digest() * 2 + bytes(16)).decode()
    assert len(pdna) == 192
    doc = {"odata.metadata": VICS13_MEDIA, "value": [
        {"MediaID": 1, "Category": 1, "MD5": it["f0.jpg"]["md5"].upper(), "SHA1": it["f0.jpg"]["sha1"].upper(),
         "VictimIdentified": "true", "OffenderIdentified": "false", "IsDistributed": "true", "Series": "Series 7",
         "IsPrecategorized": "true", "Tags": "a|b",
         "AlternativeHashes": [{"HashName": "PhotoDNA", "HashValue": pdna}]},
        {"MediaID": 2, "Category": 0, "MD5": it["f1.jpg"]["md5"].upper(), "VictimIdentified": "false",
         "IsPrecategorized": "false"},
        {"MediaID": 3, "Category": 2, "SHA1": it["f2.jpg"]["sha1"].upper(), "VictimIdentified": "maybe"}]}
    f = tmp_path / "iped13.json"
    f.write_text(json.dumps(doc, indent=1))
    r = case.hashsets.import_file(f, "iped", kind="known-good")
    assert (r["format"], r["entries"], r["rejected"], r["matched_items"]) == ("vics-1.3", 3, 0, 3)
    m = case.hashsets.matches(it["f0.jpg"]["id"])[0]
    assert (m["kind"], m["category"], m["series"]) == ("known-bad", 1, "Series 7")
    assert (m["victim_identified"], m["offender_identified"], m["is_distributed"]) == (True, False, True)
    assert m["extra"]["Tags"] == "a|b" and m["extra"]["IsPrecategorized"] == "true"
    alt = json.loads(case.store.scalar("SELECT alt_hashes FROM hash_set_entries WHERE md5 = ?", (it["f0.jpg"]["md5"],)))
    assert alt == [{"HashName": "PhotoDNA", "HashValue": pdna}]
    m1 = case.hashsets.matches(it["f1.jpg"]["id"])[0]
    assert (m1["kind"], m1["category"], m1["victim_identified"]) == ("non-pertinent", 0, False)
    m2 = case.hashsets.matches(it["f2.jpg"]["id"])[0]
    assert (m2["kind"], m2["hash"], m2["victim_identified"], m2["extra"]["VictimIdentified"]) == ("known-bad", "sha1", None, "maybe")
    assert _names(case, case.hashsets.known_bad_item_ids()) == {"f0.jpg", "f2.jpg"}


def _clees4all(it: dict) -> str:
    """X-Ways Clees4All (src/VICS.cpp): openVICSFile's header with CRLF and tabs, CaseID as
    {GUID}, cJSON_Print records (tabs, LF) with Category left out when 0, JSON true for
    flags, UTC times with milliseconds, MediaMetadata; closeVICSFile's footer."""
    head = ('{\r\n\t"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Cases",'
            '\r\n\t"value":[{"CaseID":"{6F9619FF-8B86-D011-B42D-00C04FC964FF}",\r\n\t"CaseNumber":"OP-77\\/2",\r\n\t'
            '"ContactEmail":"e@example.org",\r\n\t"SourceApplicationName":"Clees4All",\r\n\t'
            '"SourceApplicationVersion":"1.51",\r\n\t"Media":[')
    records = []
    for n, (cat, victim) in enumerate([(1, True), (0, False), (2, False), (3, True)]):
        f = it[f"f{n}.jpg"]
        m = {"MediaID": n + 1}
        if cat != 0:
            m["Category"] = cat
        m.update({"MD5": f["md5"].upper(), "SHA1": f["sha1"].upper()})
        if victim:
            m["VictimIdentified"] = True
        m.update({"Series": "Alpha" if n == 0 else None, "DateUpdated": "2024-01-02T03:04:05.678+01:00",
                  "MediaSize": f["size"], "RelativeFilePath": f"Pictures\\f{n}.jpg"})
        m = {k: v for k, v in m.items() if v is not None}
        if n == 0:
            m.update({"IsPrecategorized": True, "PrecategorizationSource": "Project VIC UK"})
        m["MediaFiles"] = [{"MD5": f["md5"].upper(), "FileName": f"f{n}.jpg", "FilePath": "Partition 1\\Users\\x\\Pictures\\",
                            "Created": "2024-01-02T03:04:05.678Z", "Written": "2024-01-02T03:04:05.678Z", "Deleted": True,
                            "PhysicalLocation": 123456789012}]
        m["MediaMetadata"] = [{"PropertyName": "X-Ways Hash Category", "PropertyValue": "CAT1"}]
        records.append(json.dumps(m, indent="\t"))
    return head + ",\r\n\t".join(records) + "\t]\r\n\t}]\r\n\t}"


@pytest.mark.parametrize("utf16", [False, True], ids=["utf8-1.38+", "utf16le-bom-before-1.38"])
def test_clees4all_cases_form(case: Case, tmp_path: Path, utf16: bool) -> None:
    it = _items(case)
    text = _clees4all(it)
    f = tmp_path / "VICS_Pictures_Results.json"
    f.write_bytes(b"\xff\xfe" + text.encode("utf-16-le") if utf16 else text.encode("utf-8"))
    r = case.hashsets.import_file(f, "c4all", kind="known-bad", category=2)
    assert (r["format"], r["entries"], r["rejected"]) == ("vics-2.0", 4, 0)
    got = {n: _items(case)[n]["category"] for n in ("f0.jpg", "f1.jpg", "f2.jpg", "f3.jpg", "f4.jpg")}
    # Clees4All leaves Category 0 out: such an entry carries no category, so the set's default applies.
    assert got == {"f0.jpg": 1, "f1.jpg": 2, "f2.jpg": 2, "f3.jpg": 3, "f4.jpg": None}
    m = case.hashsets.matches(it["f0.jpg"]["id"])[0]
    assert (m["kind"], m["series"], m["victim_identified"]) == ("known-bad", "Alpha", True)
    assert m["extra"]["MediaFiles"][0]["PhysicalLocation"] == 123456789012
    assert m["extra"]["MediaMetadata"][0]["PropertyValue"] == "CAT1" and m["extra"]["IsPrecategorized"] is True
    info = json.loads(case.store.scalar("SELECT source_info FROM hash_sets WHERE id = ?", (r["set_id"],)))
    assert info["cases"][0]["CaseID"] == "{6F9619FF-8B86-D011-B42D-00C04FC964FF}" and info["cases"][0]["CaseNumber"] == "OP-77/2"
    assert case.hashsets.matches(it["f3.jpg"]["id"])[0]["kind"] == "categorised"


def test_griffeyeps_written_file(case: Case, tmp_path: Path) -> None:
    """GriffeyePS Get-VicsJson: ConvertTo-Json -Depth 10 of an ordered Cases document
    ('.../2.0.xml/UNKNOWN/$metadata#Cases'), MediaID from 0, Get-FileHash's upper-case MD5
    and SHA1, RelativeFilePath, MediaFiles with SourceID and no Category; TotalMediaFiles
    after Media. Without categories the set's kind and default category apply."""
    it = _items(case)
    media = [{"MediaID": n, "MD5": it[f"f{n}.jpg"]["md5"].upper(), "SHA1": it[f"f{n}.jpg"]["sha1"].upper(),
              "RelativeFilePath": f"report1\\media\\f{n}.jpg", "MediaSize": it[f"f{n}.jpg"]["size"],
              "MediaFiles": [{"SourceID": "NCMEC #123", "FilePath": f"media\\f{n}.jpg", "MD5": it[f"f{n}.jpg"]["md5"].upper(),
                              "FileName": f"f{n}.jpg"}]} for n in range(3)]
    doc = {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UNKNOWN/$metadata#Cases",
           "value": [{"CaseID": "e6da055a-92bc-48a1-8c41-f2784786c6db", "CaseNumber": "2024-1", "Media": media,
                      "TotalMediaFiles": 3}]}
    f = tmp_path / "x4k2j1.json"
    f.write_text(json.dumps(doc, indent=2).replace("\n", "\r\n"), encoding="utf-8")  # PowerShell on Windows
    r = case.hashsets.import_file(f, "ncmec", kind="known-bad", category=1)
    assert (r["format"], r["entries"], r["rejected"], r["matched_items"]) == ("vics-2.0", 3, 0, 3)
    assert r["by_status"] == {"known-bad": 3}
    assert [_items(case)[f"f{n}.jpg"]["category"] for n in range(4)] == [1, 1, 1, None]
    m = case.hashsets.matches(it["f2.jpg"]["id"])[0]
    assert m["extra"]["RelativeFilePath"] == "report1\\media\\f2.jpg" and m["extra"]["MediaID"] == 2


def test_known_bad_wins_over_known_good_and_non_pertinent(case: Case, tmp_path: Path) -> None:
    it = _items(case)
    nsrl = tmp_path / "nsrl.md5"
    nsrl.write_text("".join(f"{it[f'f{n}.jpg']['md5']}  f{n}\n" for n in (0, 1)))
    case.hashsets.import_file(nsrl, "nsrl", kind="known-good")
    vic = tmp_path / "vic.json"
    vic.write_text(json.dumps({"@odata.context": VICS20_MEDIA, "value": [
        {"MediaID": 1, "Category": 0, "MD5": it["f0.jpg"]["md5"]},
        {"MediaID": 2, "Category": 1, "MD5": it["f0.jpg"]["md5"].upper()},
        {"MediaID": 3, "Category": 1, "MD5": it["f1.jpg"]["md5"]}]}))
    case.hashsets.import_file(vic, "vic", kind="known-good")
    assert _names(case, case.hashsets.known_bad_item_ids()) == {"f0.jpg", "f1.jpg"}
    assert case.hashsets.known_good_item_ids() == set()  # a known-bad match is never hidden
    assert _items(case)["f0.jpg"]["category"] == 1  # known-bad over non-pertinent for the same file


def test_utf16_md5_list_and_unknown_formats(case: Case, tmp_path: Path) -> None:
    it = _items(case)
    lst = tmp_path / "hashes.txt"
    lst.write_bytes(b"\xff\xfe" + f"MD5\r\n{it['f0.jpg']['md5'].upper()}\r\n{it['f1.jpg']['md5']}\r\n".encode("utf-16-le"))
    r = case.hashsets.import_file(lst, "utf16 list", kind="known-bad", category=2)
    assert (r["format"], r["entries"], r["matched_items"]) == ("hashlist", 2, 2)
    bad = {
        "notes.csv": b"name,size\r\nholiday.jpg,1234\r\n",
        "random.bin": bytes(range(256)) * 8,
        "other.json": json.dumps({"files": [{"md5": it["f2.jpg"]["md5"]}]}).encode(),
        "empty.txt": b"",
        "vics-empty.json": json.dumps({"@odata.context": VICS20_MEDIA, "value": []}).encode(),
        "utf16-nonsense.txt": b"\xff\xfe" + "not a hash\r\nnor this\r\n".encode("utf-16-le"),
        "garbage.json": b"{garbage",
        "truncated.json": _distribution(it).encode()[:300],
    }
    for name, data in bad.items():
        f = tmp_path / name
        f.write_bytes(data)
        with pytest.raises(CaseError, match="cannot import"):
            case.hashsets.import_file(f, name)
        cli = [sys.executable, "-m", "forensics.cli", "hashsets", "import", str(case.path), str(f), "--name", name]
        p = subprocess.run(cli, capture_output=True, text=True)
        assert p.returncode != 0 and "cannot import" in p.stderr, (name, p.returncode, p.stderr)
    assert [s["name"] for s in case.hashsets.sets()] == ["utf16 list"]
    assert case.store.scalar("SELECT COUNT(*) FROM hash_set_entries") == 2  # nothing left of the failed imports
    errors = [e for e in case.audit_entries("hashset.import") if "error" in e.result]
    assert len(errors) == 2 * len(bad)


def test_zero_length_file_never_matches(case: Case, tmp_path: Path) -> None:
    empty = hashlib.sha256(b"").hexdigest()
    f = tmp_path / "with-empty.sha256"
    f.write_text(f"{empty}  empty\n{_items(case)['f3.jpg']['sha256']}  f3\n")
    r = case.hashsets.import_file(f, "with empty", kind="known-bad", category=1)
    assert (r["entries"], r["zero_length"], r["matched_items"]) == (2, 1, 1)
    assert _items(case)["empty.jpg"]["category"] is None and _items(case)["f3.jpg"]["category"] == 1


def test_migration_gives_existing_entries_their_status(tmp_path: Path) -> None:
    """A case whose sets were imported before per-entry status: the migration backfills it
    from each entry's category, the set's kind where the entry has none."""
    import sqlite3

    from forensics.store.db import Store, migrations

    db = tmp_path / "case.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, name TEXT NOT NULL, applied_utc TEXT NOT NULL)")
    for version, name, sql in migrations():
        if "hashset_entry_status" in name:  # every migration before this issue's
            break
        conn.executescript(sql)
        conn.execute("INSERT INTO schema_version VALUES (?, ?, 'then')", (version, name))
        before = version
    conn.execute("INSERT INTO hash_sets (id, name, kind, format, source_path, source_sha256, imported_utc, imported_by)"
                 " VALUES (1, 'vic', 'known-good', 'vics-2.0', '/v', 'aa', 'then', 'x'),"
                 " (2, 'list', 'known-bad', 'hashlist', '/l', 'bb', 'then', 'x')")
    conn.executemany("INSERT INTO hash_set_entries (id, set_id, md5, category) VALUES (?, ?, ?, ?)",
                     [(1, 1, "a", 0), (2, 1, "b", 1), (3, 1, "c", 4), (4, 1, "d", None), (5, 2, "e", None), (6, 2, "f", 2)])
    conn.commit()
    conn.close()
    store = Store(db)  # opening migrates
    try:
        assert store.version() == len(migrations())
        got = dict(store.query("SELECT id, status FROM hash_set_entries ORDER BY id"))
        assert got == {1: "non-pertinent", 2: "known-bad", 3: "categorised", 4: "known-good", 5: "known-bad", 6: "known-bad"}
        assert (db.parent / f"case.sqlite.v{before}.bak").exists()
    finally:
        store.close()


def test_nsrl_rds2_text_file(case: Case, tmp_path: Path) -> None:
    """NSRL RDS 2.x NSRLFile.txt: a quoted CSV whose first column is the SHA-1."""
    it = _items(case)
    f = tmp_path / "NSRLFile.txt"
    f.write_text('"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"\r\n'
                 f'"{it["f5.jpg"]["sha1"].upper()}","{it["f5.jpg"]["md5"].upper()}","00000000","f5.jpg",850,1,"358",""\r\n'
                 '"0000002D9D62AEBE1E0E9DB6C4C4C7C16A163D2C","1D6EBB5A789ABD108FF578263E1F40F3","FFFFFFFF","x.dll",4109,1,"358",""\r\n')
    r = case.hashsets.import_file(f, "NSRL 2.x", kind="known-good")
    assert (r["format"], r["entries"], r["rejected"], r["matched_items"]) == ("hashlist", 2, 0, 1)
    assert _names(case, case.hashsets.known_good_item_ids()) == {"f5.jpg"}


def test_recon_lab_20_context_says_media_over_case_records(case: Case, tmp_path: Path) -> None:
    """RECON LAB's 2.0 writer: context '.../2.0.xml/CUSTOM/$metadata#Media' over a Case record
    ("Agency", "Case No.", ...) holding Media with lower-case hashes, MediaSize as a string,
    navigation links and an SHA1 alternative hash."""
    it = _items(case)
    md5 = it["f0.jpg"]["md5"]
    media = {"MimeType": "image/jpeg", "RelativeFilePath": "Users\\\\x\\\\f0.jpg", "Category": "1", "MD5": md5,
             "SHA1": it["f0.jpg"]["sha1"], "MediaSize": str(it["f0.jpg"]["size"]), "MediaID": 0,
             "MediaFiles": [{"FileName": "f0.jpg", "FilePath": "/Users/x/f0.jpg", "MD5": md5}],
             "MediaFiles@odata.navigationLinkUrl": f"/Media({md5})/MediaFiles", "Exifs": [],
             "AlternativeHashes": [{"Media@odata.navigationLinkUrl": f"AlternativeHashes(HashName='SHA1',MD5={md5})/Media",
                                    "MD5": md5, "HashName": "SHA1", "HashValue": it["f0.jpg"]["sha1"]}],
             "odata.id": f'Media("{md5}")'}
    doc = {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Media",
           "value": [{"Media": [media], "Agency": "A", "Case No.": "7", "TotalMediaFiles": "1",
                      "SourceApplicationName": "RECON LAB"}]}
    f = tmp_path / "recon.json"
    f.write_text(json.dumps(doc, indent=4))
    r = case.hashsets.import_file(f, "recon", kind="known-good")
    assert (r["format"], r["entries"], r["rejected"], r["matched_items"]) == ("vics-2.0", 1, 0, 1)
    assert _items(case)["f0.jpg"]["category"] == 1
    m = case.hashsets.matches(it["f0.jpg"]["id"])[0]
    assert m["extra"]["MediaFiles@odata.navigationLinkUrl"] == f"/Media({md5})/MediaFiles" and m["extra"]["MediaSize"] == str(it["f0.jpg"]["size"])
