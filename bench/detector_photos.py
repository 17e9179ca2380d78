"""Photos: every face of ../shared/data still found, and no photo slower than before.

Runs the whole detect-and-embed path (`forensics.faces.detect.detect_faces`) on every
labelled photo and scene of ../shared/data/faces with YuNet (the default) and with dlib's
HOG (the detector before issue 10, still selectable), in the same run, and prints per
photo the faces found against the expected count and the CPU seconds (best of `--repeat`
runs, CPU time so other jobs on the machine do not inflate it).

    uv run python bench/detector_photos.py [--repeat 2]
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import load_average, machine_line, table  # noqa: E402

FACES = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "faces").resolve()


def photos() -> list[tuple[Path, int]]:
    """(photo, expected faces): one per labelled photo, scenes.csv for the scenes."""
    out = [(p, 1) for p in sorted((FACES / "labeled").glob("*/*")) if p.is_file()]
    with open(FACES / "scenes" / "scenes.csv", newline="") as f:
        out += [(FACES / "scenes" / r["file"], int(r["faces_expected"])) for r in csv.DictReader(f)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    import numpy as np

    from forensics.faces.detect import detect_faces
    from forensics.media.image import open_image

    print(f"machine: {machine_line()}; load: {load_average():.2f}")
    detect_faces(np.zeros((64, 64, 3), np.uint8))  # load the models outside the timings
    rows, totals, slower = [], {"yunet": 0.0, "hog": 0.0}, 0
    missed = {"yunet": 0, "hog": 0}
    for path, expected in photos():
        rgb = np.asarray(open_image(path.read_bytes(), draft=None).image, dtype=np.uint8)
        cells = [f"{path.parent.name}/{path.name}", str(expected)]
        cpu = {}
        for det in ("yunet", "hog"):
            best = float("inf")
            for _ in range(args.repeat):
                t = time.process_time()
                n = len(detect_faces(rgb, {"detector": det}))
                best = min(best, time.process_time() - t)
            cpu[det] = best
            totals[det] += best
            missed[det] += n != expected
            cells += [str(n), f"{best:.2f}"]
        slower += cpu["yunet"] > cpu["hog"]
        cells.append(f"{cpu['hog'] / cpu['yunet']:.1f}x")
        rows.append(cells)
    print(table(rows, ["photo", "expected", "yunet faces", "yunet CPU s", "hog faces", "hog CPU s", "speed-up"]))
    print(f"total CPU s: yunet {totals['yunet']:.1f}, hog {totals['hog']:.1f}; photos with a wrong face count:"
          f" yunet {missed['yunet']}, hog {missed['hog']}; photos slower with yunet: {slower}")


if __name__ == "__main__":
    main()
