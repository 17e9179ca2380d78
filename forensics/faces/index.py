"""The case's face index: exact search for small cases, hnswlib above that.

The database is the source of truth; the index follows it. Each search first syncs:
faces marked `indexed` that the index lacks are added, faces no longer indexed are
marked deleted. The index is persisted under the case's index/ folder as a generation
numbered `faces.<gen>.hnsw` plus `faces.json` naming the current generation, written
file first, sidecar second (atomic rename), so a kill at any moment leaves a consistent
pair; anything that does not fit is rebuilt from the database.

hnswlib's 'l2' space returns SQUARED euclidean distances; every distance leaving this
module is the real euclidean distance, recomputed exactly from the vectors (re-ranking).
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forensics.faces.detect import EMBEDDING_DIM
from forensics.store.queries import select_in

EXACT_LIMIT = 4000  # below this many faces, brute force is exact and fast enough
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 256  # recall@10 0.997 at 1M synthetic faces, p50 < 1 ms (bench/faces.py)
KNN_EF_EXTRA = 16  # ef = k + this for the all-faces kNN graph of clustering
SIDECAR = "faces.json"


@dataclass(frozen=True)
class Neighbour:
    face_id: int
    distance: float  # euclidean


def load_vectors(conn: sqlite3.Connection, ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(ids int64, vectors float32 N x 128) of indexed faces, or of the given faces."""
    if ids is None or len(ids) > 5000:
        # many ids: one scan beats thousands of IN (...) look-ups
        rows = conn.execute("SELECT id, embedding FROM faces WHERE indexed = 1 ORDER BY id").fetchall()
        if ids is not None:
            wanted = set(ids)
            rows = [r for r in rows if r[0] in wanted]
    else:
        rows = sorted(select_in(conn, "SELECT id, embedding FROM faces WHERE id IN ({ids})", ids), key=lambda r: r[0])
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, EMBEDDING_DIM), np.float32)
    fids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), EMBEDDING_DIM)
    return fids, vecs.astype(np.float32)


def exact_knn(queries: np.ndarray, data: np.ndarray, k: int, block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest rows of `data` for each query: (indices, euclidean distances)."""
    k = min(k, len(data))
    dd = data.astype(np.float64)
    dn = (dd ** 2).sum(1)
    block = max(1, min(block, int(5e7 // max(len(data), 1))))  # bound the block x N distance matrix
    idx_out = np.empty((len(queries), k), np.int64)
    dist_out = np.empty((len(queries), k), np.float64)
    for s in range(0, len(queries), block):
        q = queries[s:s + block].astype(np.float64)
        d2 = (q ** 2).sum(1)[:, None] + dn[None, :] - 2 * q @ dd.T
        part = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < len(data) else np.tile(np.arange(len(data)), (len(q), 1))
        pd = np.take_along_axis(d2, part, 1)
        order = np.argsort(pd, axis=1)
        idx_out[s:s + len(q)] = np.take_along_axis(part, order, 1)
        dist_out[s:s + len(q)] = np.sqrt(np.maximum(np.take_along_axis(pd, order, 1), 0))
    return idx_out, dist_out


def _file_sha256(path: Path) -> str | None:
    from forensics.hashing.digests import sha256_file

    try:
        return sha256_file(path)
    except OSError:
        return None


class FaceIndex:
    """Nearest-face search over a case's indexed faces."""

    def __init__(self, index_dir: Path, conn_factory, model: str = "") -> None:
        self.dir = Path(index_dir)
        self._conn = conn_factory  # returns a read connection of the calling thread
        self.model = model
        self._lock = threading.RLock()  # hnswlib must not be searched while items are added
        self._hnsw = None
        self._live: set[int] = set()  # labels present and not deleted in self._hnsw
        self._exact: tuple[tuple, np.ndarray, np.ndarray] | None = None
        self.ef_search = HNSW_EF_SEARCH
        self._repairs: list[str] = []  # what was found damaged and rebuilt, until taken

    def take_repairs(self) -> list[str]:
        """Messages about index files found damaged and rebuilt since the last call."""
        with self._lock:
            out, self._repairs = self._repairs, []
            return out

    # -- state ---------------------------------------------------------------
    def _signature(self) -> tuple[int, int, int]:
        row = self._conn().execute(
            "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(id), 0) FROM faces WHERE indexed = 1").fetchone()
        return tuple(row)  # type: ignore[return-value]

    def count(self) -> int:
        return self._signature()[0]

    def uses_hnsw(self) -> bool:
        return self.count() > EXACT_LIMIT

    def _exact_data(self) -> tuple[np.ndarray, np.ndarray]:
        sig = self._signature()
        if self._exact is None or self._exact[0] != sig:
            ids, vecs = load_vectors(self._conn())
            self._exact = (sig, ids, vecs)
        return self._exact[1], self._exact[2]

    def _sidecar(self) -> dict | None:
        try:
            meta = json.loads((self.dir / SIDECAR).read_text())
            return meta if (self.dir / meta["file"]).is_file() else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _load(self) -> None:
        import hnswlib

        meta = self._sidecar()
        if self._hnsw is not None or meta is None or meta.get("model") != self.model or meta.get("dim") != EMBEDDING_DIM:
            return
        path = self.dir / meta["file"]
        # Damage that keeps the size (a flipped block) loads fine and silently finds
        # nothing: the sidecar's checksum is the only thing that can tell.
        if meta.get("sha256") != _file_sha256(path):
            self._repairs.append(f"{meta['file']} does not match the checksum in {SIDECAR}"
                                 f"{'' if meta.get('sha256') else ' (none recorded)'}: rebuilt from the database")
            return
        idx = hnswlib.Index(space="l2", dim=EMBEDDING_DIM)
        try:
            idx.load_index(str(path), max_elements=int(meta["max_elements"]), allow_replace_deleted=False)
        except Exception:
            self._repairs.append(f"{meta['file']} cannot be read: rebuilt from the database")
            return
        live = set(meta["live"]) if isinstance(meta.get("live"), list) else None
        if live is None or idx.element_count != meta.get("element_count"):
            self._repairs.append(f"{meta['file']} disagrees with {SIDECAR}: rebuilt from the database")
            return
        self._hnsw, self._live = idx, live

    def _save(self) -> None:
        meta = self._sidecar() or {"generation": 0}
        gen = int(meta.get("generation", 0)) + 1
        name = f"faces.{gen}.hnsw"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._hnsw.save_index(str(self.dir / (name + ".tmp")))
        digest = _file_sha256(self.dir / (name + ".tmp"))
        os.replace(self.dir / (name + ".tmp"), self.dir / name)
        side = {"file": name, "sha256": digest, "generation": gen, "model": self.model, "dim": EMBEDDING_DIM, "space": "l2",
                "M": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "max_elements": self._hnsw.get_max_elements(),
                "element_count": self._hnsw.element_count, "live": sorted(self._live)}
        tmp = self.dir / (SIDECAR + ".tmp")
        tmp.write_text(json.dumps(side))
        os.replace(tmp, self.dir / SIDECAR)
        for old in self.dir.glob("faces.*.hnsw"):
            if old.name != name:
                old.unlink(missing_ok=True)

    def sync(self, force_rebuild: bool = False) -> dict:
        """Bring the hnswlib index in line with the database (only when it is in use)."""
        import hnswlib

        with self._lock:
            if not force_rebuild and not self.uses_hnsw():
                return {"mode": "exact", "added": 0, "removed": 0}
            if force_rebuild:
                self._hnsw, self._live = None, set()
            else:
                self._load()
            want = {r[0] for r in self._conn().execute("SELECT id FROM faces WHERE indexed = 1")}
            rebuilt = self._hnsw is None
            if rebuilt:
                self._hnsw = hnswlib.Index(space="l2", dim=EMBEDDING_DIM)
                self._hnsw.init_index(max_elements=max(1024, int(len(want) * 1.25)), M=HNSW_M,
                                      ef_construction=HNSW_EF_CONSTRUCTION, random_seed=100)
                self._live = set()
            add = sorted(want - self._live)
            remove = sorted(self._live - want)
            for fid in remove:
                self._hnsw.mark_deleted(fid)
            self._live -= set(remove)
            if add:
                ids, vecs = load_vectors(self._conn(), add)
                need = self._hnsw.element_count + len(ids)
                if need > self._hnsw.get_max_elements():
                    self._hnsw.resize_index(int(need * 1.25))
                known = set(self._hnsw.get_ids_list())
                for fid in (int(i) for i in ids if int(i) in known):
                    self._hnsw.unmark_deleted(fid)  # a face indexed again (e.g. its track was relinked)
                self._hnsw.add_items(vecs, ids, num_threads=-1)
                self._live |= {int(i) for i in ids}
            if add or remove or rebuilt:
                self._save()
            return {"mode": "hnsw", "added": len(add), "removed": len(remove), "rebuilt": rebuilt, "size": len(self._live)}

    def rebuild(self) -> dict:
        """Rebuild from the database (`forensics faces reindex`); also used in exact mode."""
        for old in list(self.dir.glob("faces.*.hnsw")) + [self.dir / SIDECAR]:
            old.unlink(missing_ok=True)
        if not self.uses_hnsw():
            with self._lock:
                self._hnsw, self._live, self._exact = None, set(), None
            return {"mode": "exact", "size": self.count()}
        return self.sync(force_rebuild=True)

    # -- search --------------------------------------------------------------
    def search(self, query: np.ndarray, k: int) -> list[Neighbour]:
        """The k nearest indexed faces, nearest first, with exact euclidean distances."""
        q = np.asarray(query, np.float32).reshape(1, EMBEDDING_DIM)
        if not self.uses_hnsw():
            ids, vecs = self._exact_data()
            if not len(ids):
                return []
            idx, dist = exact_knn(q, vecs, k)
            return [Neighbour(int(ids[i]), float(d)) for i, d in zip(idx[0], dist[0])]
        with self._lock:
            self.sync()
            k = min(k, len(self._live))
            if k <= 0:
                return []
            self._hnsw.set_ef(max(self.ef_search, k))
            labels, _squared = self._hnsw.knn_query(q, k=k)
            labels = [int(x) for x in labels[0]]
            vecs = np.asarray(self._hnsw.get_items(labels), np.float64)
        exact = np.sqrt(((vecs - q.astype(np.float64)) ** 2).sum(1))
        return sorted((Neighbour(fid, float(d)) for fid, d in zip(labels, exact)), key=lambda n: n.distance)

    def knn_all(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For every indexed face: (ids, neighbour ids N x k, euclidean distances N x k),
        self excluded. Exact below EXACT_LIMIT, hnswlib above (never all pairs)."""
        return self.knn_all_with_vectors(k)[0]

    def knn_all_with_vectors(self, k: int) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
        """`knn_all(k)` and the embeddings it read, row for row with its ids (one read of the
        vectors for callers that score the pairs themselves)."""
        ids, vecs = load_vectors(self._conn())
        if len(ids) < 2:
            return (ids, np.zeros((len(ids), 0), np.int64), np.zeros((len(ids), 0))), vecs
        kk = min(k + 1, len(ids))
        if len(ids) <= EXACT_LIMIT:
            idx, dist = exact_knn(vecs, vecs, kk)
            nbr = ids[idx]
        else:
            with self._lock:
                self.sync()
                # the graph needs each face's close neighbours, not recall@10 >= 0.99 of a
                # search: a small ef makes the N queries several times cheaper
                self._hnsw.set_ef(kk + KNN_EF_EXTRA)
                nbr, d2 = self._hnsw.knn_query(vecs, k=kk, num_threads=-1)
            nbr = nbr.astype(np.int64)
            dist = np.sqrt(np.maximum(d2, 0)).astype(np.float64)
        # drop the query itself (wherever it landed) and keep k columns
        out_n = np.full((len(ids), kk - 1), -1, np.int64)
        out_d = np.full((len(ids), kk - 1), np.inf)
        for r in range(len(ids)):
            keep = nbr[r] != ids[r]
            n, d = nbr[r][keep][:kk - 1], dist[r][keep][:kk - 1]
            out_n[r, :len(n)] = n
            out_d[r, :len(d)] = d
        return (ids, out_n, out_d), vecs
