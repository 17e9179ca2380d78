"""Face benchmarks: detection+embedding speed against face_recognition's README recipe,
search latency/recall of the face index at 10k/100k/1M synthetic faces, and clustering
time for 100k synthetic faces through the real case path.

    uv run python bench/faces.py                      # everything (1M build takes minutes)
    uv run python bench/faces.py --sizes 10000,100000 --cluster-n 20000 --skip-detect
    uv run python bench/faces.py --quick              # small smoke run

Figures are printed, and written as JSON with --json FILE.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = (ROOT / ".." / "shared" / "data").resolve()

from forensics.faces import index as index_mod  # noqa: E402
from forensics.faces.index import HNSW_EF_CONSTRUCTION, HNSW_M, exact_knn  # noqa: E402


def shared_photos() -> list[tuple[Path, int]]:
    """(photo, expected face count) for every shared photo with a known count."""
    faces = DATA / "faces"
    out = [(p, 1) for p in sorted((faces / "labeled").glob("*/*")) + sorted((faces / "johns").glob("*/*.jpg"))]
    with open(faces / "scenes" / "scenes.csv", newline="") as f:
        out += [(faces / "scenes" / r["file"], int(r["faces_expected"])) for r in csv.DictReader(f)]
    return out


def bench_detection(photos: list[tuple[Path, int]]) -> dict:
    from forensics.faces.detect import detect_faces
    from forensics.media.image import open_image

    import face_recognition  # the baseline, exactly as its README shows
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False
    detect_faces(np.zeros((64, 64, 3), np.uint8))  # load models outside the timings
    expected = sum(n for _, n in photos)
    res = {"photos": len(photos), "expected_faces": expected}
    for name in ("pipeline", "baseline"):
        found = exact = 0
        t0 = time.perf_counter()
        for p, n in photos:
            if name == "pipeline":
                rgb = np.asarray(open_image(p.read_bytes(), draft=None).image, dtype=np.uint8)
                k = len(detect_faces(rgb))
            else:
                img = face_recognition.load_image_file(str(p))
                locs = face_recognition.face_locations(img)
                k = len(face_recognition.face_encodings(img, known_face_locations=locs))
            found += k
            exact += k == n
        dt = time.perf_counter() - t0
        res[name] = {"seconds": round(dt, 2), "faces": found, "photos_with_expected_count": exact,
                     "faces_per_s": round(found / dt, 2), "photos_per_s": round(len(photos) / dt, 2)}
        print(f"  {name:<9} {found:>4} faces ({exact}/{len(photos)} photos with the expected count, "
              f"{expected} expected) in {dt:6.1f}s: {found / dt:5.2f} faces/s, {len(photos) / dt:5.2f} photos/s")
    return res


def synthetic_faces(n: int, seed: int, per_identity: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Face-like 128-d vectors: identities ~0.9 apart, a person's faces ~0.35 apart
    (dlib's typical different/same-person distances)."""
    rng = np.random.default_rng(seed)
    ids = max(1, n // per_identity)
    centres = rng.normal(scale=0.9 / np.sqrt(2 * 128), size=(ids, 128)).astype(np.float32)
    who = rng.integers(0, ids, n)
    x = centres[who] + rng.normal(scale=0.35 / np.sqrt(2 * 128), size=(n, 128)).astype(np.float32)
    return x.astype(np.float32), who


def bench_search(n: int, queries: int, efs: list[int]) -> dict:
    import hnswlib

    x, _ = synthetic_faces(n + queries, seed=n)
    data, q = x[:n], x[n:]
    t0 = time.perf_counter()
    idx = hnswlib.Index(space="l2", dim=128)
    idx.init_index(max_elements=n, M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION, random_seed=100)
    idx.add_items(data, np.arange(n), num_threads=-1)
    build = time.perf_counter() - t0
    truth, _ = exact_knn(q, data, 10)
    res = {"n": n, "build_s": round(build, 1), "M": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "by_ef": {}}
    print(f"  n={n:>9,}: hnswlib build {build:7.1f}s (M={HNSW_M}, ef_construction={HNSW_EF_CONSTRUCTION}, 2 threads)")
    for ef in efs:
        idx.set_ef(ef)
        idx.set_num_threads(1)
        lat, hits = [], 0
        for i in range(len(q)):
            t = time.perf_counter()
            labels, _sq = idx.knn_query(q[i:i + 1], k=10)
            vecs = np.asarray(idx.get_items(labels[0]), np.float64)  # exact re-rank, as FaceIndex.search does
            order = np.argsort(np.sqrt(((vecs - q[i]) ** 2).sum(1)))
            lat.append(time.perf_counter() - t)
            hits += len(set(labels[0][order].tolist()) & set(truth[i].tolist()))
        lat_ms = np.array(lat) * 1000
        recall = hits / (10 * len(q))
        res["by_ef"][ef] = {"p50_ms": round(float(np.percentile(lat_ms, 50)), 3),
                            "p95_ms": round(float(np.percentile(lat_ms, 95)), 3), "recall_at_10": round(recall, 4)}
        print(f"      ef={ef:>4}: p50 {np.percentile(lat_ms, 50):6.3f} ms  p95 {np.percentile(lat_ms, 95):6.3f} ms"
              f"  recall@10 {recall:.4f}")
    # brute force for comparison (what small cases use)
    t = time.perf_counter()
    exact_knn(q[:20], data, 10)
    res["exact_ms_per_query"] = round((time.perf_counter() - t) / 20 * 1000, 2)
    print(f"      exact numpy search: {res['exact_ms_per_query']} ms/query")
    return res


def bench_cluster(n: int) -> dict:
    """Cluster n synthetic faces in a real case (one photo each) through case.faces.cluster()."""
    from forensics.clock import utc_now
    from forensics.case import Case
    from forensics.faces.cluster import bcubed

    x, who = synthetic_faces(n, seed=7)
    with tempfile.TemporaryDirectory() as tmp:
        case = Case.create(Path(tmp) / "case", name="bench", number="B", examiner="bench", authority="benchmark")
        now = utc_now()
        with case.store.write() as w:
            sid = w.execute("INSERT INTO sources (path, path_raw, added_utc, added_by) VALUES ('/x', ?, ?, 'b')",
                            (b"/x", now)).lastrowid
            w.executemany("INSERT INTO items (id, kind, source_id, relpath, relpath_raw, ingested_utc) VALUES (?, 'image', ?, ?, ?, ?)",
                          [(i + 1, sid, f"{i}.jpg", f"{i}.jpg".encode(), now) for i in range(n)])
            w.executemany("INSERT INTO faces (id, item_id, box_top, box_right, box_bottom, box_left, det_score, size,"
                          " sharpness, embedding, model, created_utc) VALUES (?, ?, 0, 100, 100, 0, 1, 100, 500, ?, 'bench', ?)",
                          [(i + 1, i + 1, x[i].astype("<f4").tobytes(), now) for i in range(n)])
        t0 = time.perf_counter()
        sync = case.faces.index.sync()
        t_index = time.perf_counter() - t0
        t0 = time.perf_counter()
        run = case.faces.cluster()
        t_cluster = time.perf_counter() - t0
        pred = {int(r[0]): (r[1] if r[1] is not None else -int(r[0]))
                for r in case.store.query("SELECT id, person_id FROM faces")}
        p, r, f1 = bcubed(pred, {i + 1: int(who[i]) for i in range(n)})
        case.close()
    print(f"  n={n:,}: index build {t_index:.1f}s ({sync.get('mode')}), cluster {t_cluster:.1f}s "
          f"(kNN k=30 + constrained whispers + DB), {run['clusters']} clusters for {len(set(who.tolist()))} identities,"
          f" BCubed P {p:.3f} R {r:.3f} F {f1:.3f}")
    return {"n": n, "index_build_s": round(t_index, 1), "cluster_s": round(t_cluster, 1), "run": run,
            "bcubed": {"precision": round(p, 4), "recall": round(r, 4), "f": round(f1, 4)}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--ef", default="64,128,256")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--cluster-n", type=int, default=100_000)
    ap.add_argument("--skip-detect", action="store_true")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.queries, args.cluster_n = "5000", 50, 6000
    out: dict = {"exact_limit": index_mod.EXACT_LIMIT}
    if not args.skip_detect:
        if (DATA / "faces" / "labeled").is_dir():
            photos = shared_photos()
            print(f"Detection + embedding on {len(photos)} shared photos (1 process, 1 thread):")
            out["detection"] = bench_detection(photos[:8] if args.quick else photos)
        else:
            print("Detection skipped: ../shared/data is not present beside the project")
    print("Search (synthetic face-like 128-d vectors, k=10, 1 thread per query, exact re-rank included):")
    efs = [int(e) for e in args.ef.split(",")]
    out["search"] = [bench_search(int(n), args.queries, efs) for n in args.sizes.split(",") if n]
    print("Clustering:")
    out["cluster"] = bench_cluster(args.cluster_n)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
