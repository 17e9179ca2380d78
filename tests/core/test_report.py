"""Examiner reports from the sample case: HTML, PDF and CSV say what the case holds.

The sample evidence is built and ingested (with faces) once per module; every test works
on its own copy of the case folder, so tagging, naming and exporting never leak between
tests. The evidence itself is only read.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from forensics.case import Case
from forensics.cli import main
from forensics.ingest.pipeline import IngestOptions
from forensics.model import Cancelled, CaseError
from forensics.report.people import format_seconds

pytest.importorskip("sample_cases.build")


@pytest.fixture(scope="module")
def sample_case_dir(tmp_path_factory) -> Path:
    from sample_cases.build import build_sample_evidence

    root = tmp_path_factory.mktemp("report_sample")
    ev = build_sample_evidence(root / "evidence")
    case = Case.create(root / "case", name="Operation Sample", number="OP-2026-17", examiner="Ann Examiner",
                       authority="Search warrant 2026/4711, District Court")
    case.ingest([ev], IngestOptions(workers=2, faces=True))
    case.faces.cluster()
    case.copies.group()
    case.close()
    return root / "case"


@pytest.fixture
def case(sample_case_dir, tmp_path):
    dst = tmp_path / "case"
    shutil.copytree(sample_case_dir, dst)
    c = Case.open(dst)
    yield c
    c.close()


def _by_name(case: Case, name: str) -> dict:
    return next(i for i in case.items(include_frames=False) if i["path"].endswith(name))


def _astronaut(case: Case) -> tuple[int, dict]:
    """Name the cluster that appears in the CCTV video (the astronaut) and return it."""
    for cl in case.faces.clusters():
        p = case.faces.person(cl["id"])
        if p["videos"]:
            case.faces.name_person(cl["id"], "Eileen Collins")
            return cl["id"], case.faces.person(cl["id"])
    pytest.fail("the sample case has no face track in its video")


def _decisions(case: Case) -> dict[str, dict]:
    img1, hop, small = _by_name(case, "IMG_0001.jpg"), _by_name(case, "IMG_0002.jpg"), _by_name(case, "hopper_small.jpg")
    case.set_category_name(5, "Travel documents")
    case.tag_items([img1["id"], hop["id"]], category=1, add_tags=["evidence", "phone"], bookmarked=True,
                   note="Recovered from the phone's DCIM folder")
    case.tag_items([small["id"]], category=5, add_tags=["downloads"])
    return {"img1": img1, "hop": hop, "small": small}


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.imgs: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        for k in ("href", "src"):
            if k in a and not a[k].startswith(("data:", "#")):
                self.refs.append(a[k])

    def handle_data(self, data):
        self.text.append(data)


def _parse(path: Path) -> tuple[str, _Html]:
    p = _Html()
    p.feed(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(p.text).split()), p


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(str(path)).pages)


def test_html_report_states_case_items_hashes_audit(case, tmp_path):
    d = _decisions(case)
    head_before = case.verify_audit().head
    out = tmp_path / "report.html"
    res = case.reports.export(out, selection="all-tagged")
    text, parsed = _parse(out)
    assert res["items"] == 3 and res["format"] == "html"
    for label in ("Operation Sample", "OP-2026-17", "Search warrant 2026/4711, District Court", "Ann Examiner",
                  "forensics 0.1.0", "MD5, SHA-1 and SHA-256", "pHash", "dlib_face_recognition_resnet_model_v1"):
        assert label in text, label
    for it in d.values():
        for key in ("md5", "sha1", "sha256", "path"):
            assert it[key] in text, (key, it["path"])
    assert "1 (Child abuse material)" in text and "5 (Travel documents)" in text
    assert "Recovered from the phone's DCIM folder" in text and "evidence, phone" in text
    assert "camera Apple iPhone 12" in text and "GPS 28.572900, -80.649000" in text
    # Copy groups: the hopper photo is grouped with its copies.
    assert "hopper_copy.jpg" in text
    # Not selected: never listed as an item.
    assert "id=\"item-%d\"" % _by_name(case, "IMG_0010.jpg")["id"] not in out.read_text(encoding="utf-8")
    # Self-contained: every thumbnail embedded and decodable, nothing fetched from elsewhere.
    assert parsed.refs == []
    thumbs = [s for s in parsed.imgs if s.startswith("data:image/jpeg;base64,")]
    assert len(thumbs) >= 3
    assert Image.open(io.BytesIO(base64.b64decode(thumbs[0].split(",", 1)[1]))).size[0] > 0
    # The audit trail of decisions, the failed files and the chain head at export.
    assert "item.tag" in text and "category.rename" in text and "ingest" in text
    assert "truncated.jpg" in text and "zero-byte file" in text
    assert head_before in text
    assert "sha256sum report.html" in text and "forensics audit verify DIR" in text
    assert "@media print" in out.read_text(encoding="utf-8")


def test_report_hash_is_audited_and_chain_verifies(case, tmp_path, capsys):
    _decisions(case)
    out = tmp_path / "r.html"
    res = case.reports.export(out, selection="bookmarked")
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert res["sha256"] == digest
    entry = case.audit_entries("report.export")[-1]
    assert entry.seq == res["audit_seq"]
    assert entry.result["sha256"] == digest and entry.params["path"] == str(out.resolve())
    assert entry.params["selection"] == "bookmarked"
    # The report names the head the export entry chains onto.
    assert entry.prev_hash in out.read_text(encoding="utf-8")
    case_dir = str(case.path)
    case.close()
    assert main(["audit", "verify", case_dir, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_pdf_report_person_appearances_with_video_time_spans(case, tmp_path):
    _decisions(case)
    pid, person = _astronaut(case)
    out = tmp_path / "person.pdf"
    res = case.reports.export(out, selection=f"person:{pid}")
    assert out.read_bytes().startswith(b"%PDF")
    raw = _pdf_text(out)
    text = re.sub(r"\s+", "", raw)
    assert "Eileen Collins" in raw
    assert "OP-2026-17" in raw and "Search warrant 2026/4711" in raw
    video = person["videos"][0]
    span = f"{format_seconds(video['start'])}–{format_seconds(video['end'])}"
    assert span in text
    assert re.sub(r"\s+", "", video["path"]) in text
    for ph in person["photos"]:
        item = case.item(ph["item_id"])
        assert item["sha256"] in text and re.sub(r"\s+", "", item["path"]) in text
    expected_items = {ph["item_id"] for ph in person["photos"]} | {v["video_id"] for v in person["videos"]}
    assert res["items"] == len(expected_items)
    for action in ("persons.create", "item.tag", "faces.cluster", "case.create"):
        assert action in raw, action
    # Real thumbnails and face crops are embedded as images.
    from pypdf import PdfReader

    images = sum(len(p.images) for p in PdfReader(str(out)).pages)
    assert images >= len(expected_items) + 1
    assert case.audit_entries("report.export")[-1].result["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_html_person_section_lists_every_appearance(case, tmp_path):
    pid, person = _astronaut(case)
    out = tmp_path / "p.html"
    case.reports.export(out, selection=f"person:{pid}")
    text, parsed = _parse(out)
    v = person["videos"][0]
    assert f"{format_seconds(v['start'])} – {format_seconds(v['end'])}" in text
    assert f"frame item {v['best_frame_item_id']}" in text
    assert "Eileen Collins (person %d" % pid in text
    assert sum(s.startswith("data:image/jpeg") for s in parsed.imgs) >= 3 + len(person["photos"])
    # each appearance states its evidence against the person's other confirmed faces, and
    # the method section says where the likelihood ratios come from and how they held here
    from forensics.faces.calibration import load_calibration

    assert "log10 LR" in text and "support for" in text
    assert "Face calibration" in text and load_calibration().version in text and "ENFSI" in text
    assert "Calibration check on this case" in text


def test_csv_lists_selected_items_with_hashes(case, tmp_path):
    d = _decisions(case)
    out = tmp_path / "items.csv"
    res = case.reports.export(out, selection="category:1")
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert res["items"] == len(rows) == 2
    by_id = {int(r["item_id"]): r for r in rows}
    for key in ("img1", "hop"):
        it = d[key]
        r = by_id[it["id"]]
        assert (r["path"], r["md5"], r["sha1"], r["sha256"]) == (it["path"], it["md5"], it["sha1"], it["sha256"])
        assert r["category"] == "1" and r["category_name"] == "Child abuse material"
        assert r["tags"] == "evidence; phone" and r["bookmarked"] == "1"
    assert by_id[d["img1"]["id"]]["camera"] == "Apple iPhone 12"
    assert case.audit_entries("report.export")[-1].params["format"] == "csv"


def test_selections_resolve_and_bad_ones_are_refused(case):
    d = _decisions(case)
    ids = lambda spec: set(case.reports.selection(spec).item_ids)  # noqa: E731
    assert ids("bookmarked") == {d["img1"]["id"], d["hop"]["id"]}
    assert ids("category:5") == {d["small"]["id"]}
    assert ids("all-tagged") == {d["img1"]["id"], d["hop"]["id"], d["small"]["id"]}
    assert len(ids("all")) == case.stats()["files"]
    for bad in ("category:x", "person:abc", "person:9999", "everything", "bookmarked:3"):
        with pytest.raises(CaseError):
            case.reports.selection(bad)


def test_preview_counts_what_export_includes(case, tmp_path):
    _decisions(case)
    pid, _ = _astronaut(case)
    pv = case.reports.preview("all")
    assert pv["items"] == case.stats()["files"]
    assert pv["persons"] == 1 and pv["person_names"] == ["Eileen Collins"]
    assert pv["faces"] == case.faces.stats()["faces"]
    assert pv["failed_files"] == case.stats()["errors"] and pv["audit_entries"] == case.stats()["audit_entries"]
    pv1 = case.reports.preview(f"person:{pid}")
    res = case.reports.export(tmp_path / "p.html", selection=f"person:{pid}")
    assert (pv1["items"], pv1["persons"]) == (res["items"], res["persons"]) == (pv1["items"], 1)


class _Broken:
    def __getattr__(self, name):
        def fail(*a, **k):
            raise RuntimeError("service exploded")
        return fail


@pytest.mark.parametrize("fmt", ["html", "pdf", "csv"])
def test_failing_services_leave_sections_marked_unavailable(case, tmp_path, fmt):
    d = _decisions(case)
    for name in ("faces", "copies", "hashsets"):
        case.__dict__[name] = _Broken()
    out = tmp_path / f"r.{fmt}"
    res = case.reports.export(out, selection="bookmarked")
    assert res["items"] == 2
    assert any("service exploded" in n for n in res["unavailable"])
    if fmt == "html":
        text, _ = _parse(out)
        assert "unavailable (RuntimeError: service exploded)" in text and d["hop"]["sha256"] in text
    elif fmt == "pdf":
        assert d["hop"]["sha256"] in re.sub(r"\s+", "", _pdf_text(out))


def test_cancelled_export_leaves_no_file_and_no_audit_entry(case, tmp_path):
    stop = threading.Event()
    before = len(case.audit_entries("report.export"))

    def progress(p):
        if p.done == 3:
            stop.set()

    for fmt in ("html", "pdf", "csv"):
        stop.clear()
        out = tmp_path / f"all.{fmt}"
        with pytest.raises(Cancelled):
            case.reports.export(out, selection="all", progress=progress, cancel=stop)
        assert not out.exists() and not list(tmp_path.glob("*.partial"))
    assert len(case.audit_entries("report.export")) == before


def test_missing_or_corrupt_thumbnails_do_not_stop_the_report(case, tmp_path):
    d = _decisions(case)
    case.thumb_path(d["img1"]["id"]).unlink()
    case.thumb_path(d["hop"]["id"]).write_bytes(b"not a jpeg at all")
    for fmt in ("html", "pdf"):
        out = tmp_path / f"r.{fmt}"
        res = case.reports.export(out, selection="bookmarked")
        assert res["items"] == 2
    text, _ = _parse(tmp_path / "r.html")
    assert "no thumbnail" in text and d["img1"]["sha256"] in text


def test_spreadsheet_formulas_in_notes_are_neutralised(case, tmp_path):
    it = _by_name(case, "IMG_0010.jpg")
    case.tag_items([it["id"]], bookmarked=True, note='=HYPERLINK("http://x","click")')
    out = tmp_path / "r.csv"
    case.reports.export(out, selection="bookmarked")
    row = next(csv.DictReader(open(out, encoding="utf-8-sig", newline="")))
    assert row["note"].startswith("'=")


def test_unknown_format_is_refused(case, tmp_path):
    with pytest.raises(CaseError):
        case.reports.export(tmp_path / "r.docx")


def test_cli_report_json_and_preview(case, tmp_path, capsys):
    _decisions(case)
    case_dir = str(case.path)
    case.close()
    out = tmp_path / "cli.pdf"
    assert main(["report", case_dir, "--out", str(out), "--selection", "bookmarked", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() and doc["items"] == 2
    assert main(["report", case_dir, "--out", str(out), "--preview", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["items"] == 2
    assert main(["report", case_dir, "--out", str(tmp_path / "x.html"), "--selection", "nonsense", "--json"]) == 1
    assert "unknown selection" in json.loads(capsys.readouterr().out)["error"]


def test_hash_set_matches_appear_per_item_and_in_summary(case, tmp_path):
    hop = _by_name(case, "IMG_0002.jpg")
    hl = tmp_path / "known.txt"
    hl.write_text(f"{hop['md5']}  IMG_0002.jpg\n")
    case.hashsets.import_file(hl, "Known series A", kind="known-bad", category=1)
    case.tag_items([hop["id"]], bookmarked=True)
    out = tmp_path / "r.html"
    case.reports.export(out, selection="bookmarked")
    text, _ = _parse(out)
    assert "Known series A (known-bad), category 1, by md5" in text
    assert "1 (Child abuse material)" in text
    pdf = tmp_path / "r.pdf"
    case.reports.export(pdf, selection="bookmarked")
    assert "Known series A" in _pdf_text(pdf)
    csv_out = tmp_path / "r.csv"
    case.reports.export(csv_out, selection="bookmarked")
    row = next(csv.DictReader(open(csv_out, encoding="utf-8-sig", newline="")))
    assert row["hash_set_matches"] == "Known series A (category 1)"


def test_a_renamed_service_field_fails_the_export(case, tmp_path, monkeypatch):
    # The report reads the face service's fields by name; if one is renamed the export must
    # fail (and this test with it), not print the persons section as "unavailable".
    _decisions(case)
    _astronaut(case)
    service = type(case.faces)
    real = service.person

    def renamed(self, person_id):
        p = real(self, person_id)
        p["appearances"] = p.pop("photos")
        return p

    monkeypatch.setattr(service, "person", renamed)
    with pytest.raises(KeyError, match="photos"):
        case.reports.export(tmp_path / "r.html", selection="bookmarked")
    assert not (tmp_path / "r.html").exists()
