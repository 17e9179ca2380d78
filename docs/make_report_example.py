"""Rebuild docs/report-example.pdf (and -p1/-p2 PNGs) from the bundled sample case.

    uv run python docs/make_report_example.py [--work /tmp/report-example]

Builds the sample evidence, ingests it with faces, groups copies, clusters faces and names
the two people, imports a one-line known-bad hash list, categorises, tags and annotates a
few items as an examiner would, verifies the evidence and exports the report of everything
tagged. The PNGs need pdftoppm (Debian package poppler-utils).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from forensics.case import Case
    from forensics.ingest.pipeline import IngestOptions
    from sample_cases.build import build_sample_evidence

    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/report-example")
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work / "case", ignore_errors=True)
    ev = build_sample_evidence(work / "evidence")
    case = Case.create(work / "case", name="Operation Lighthouse (sample)", number="2026-OPL-0042",
                       examiner="DC J. Example, Digital Forensics Unit",
                       authority="Search warrant SW-2026-1187, Example Magistrates' Court, 12 May 2026 (sample)",
                       description="Sample material bundled with the tool; no real case.")
    case.ingest([ev], IngestOptions(faces=True))
    case.copies.group()
    case.faces.cluster()
    by_name = {Path(i["path"]).name: i for i in case.items(include_frames=False)}
    for cl in case.faces.clusters():
        p = case.faces.person(cl["id"])
        paths = " ".join(x["path"] for x in p["photos"]) + " ".join(v["path"] for v in p["videos"])
        if p["videos"]:
            case.faces.name_person(cl["id"], "Eileen Collins")
        elif "hopper" in paths or "IMG_0002" in paths:
            case.faces.name_person(cl["id"], "Grace Hopper")
    known = work / "known-bad.txt"
    # The known-bad match is a generated abstract picture: sample material never puts a
    # real person's photograph under an abuse category.
    known.write_text(f"{by_name['IMG_0012.jpg']['md5']}  series-17/0001.jpg\n")
    case.hashsets.import_file(known, "Sample known-bad list", kind="known-bad", category=2)
    case.tag_items([by_name["IMG_0001.jpg"]["id"], by_name["camera1_2024-05-01.mp4"]["id"]], category=4,
                   add_tags=["subject A"], bookmarked=True,
                   note="Subject A appears on the phone and in the CCTV footage of 1 May 2024.")
    case.tag_items([by_name["IMG_0012.jpg"]["id"]], add_tags=["hash match"], bookmarked=True)
    case.tag_items([by_name["IMG_0002.jpg"]["id"]], category=0, add_tags=["copies"], bookmarked=True,
                   note="Public photograph; present three times (two visual copies).", whole_copy_group=True)
    case.tag_items([by_name["invoice.txt"]["id"]], add_tags=["disguised"],
                   note="JPEG image saved with a .txt extension.")
    case.verify()
    out = ROOT / "docs" / "report-example.pdf"
    res = case.reports.export(out, selection="all-tagged")
    print(res)
    if shutil.which("pdftoppm"):
        for page in (1, 2):
            subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page), "-singlefile",
                            str(out), str(ROOT / "docs" / f"report-example-p{page}")], check=True)
    case.close()


if __name__ == "__main__":
    main()
