"""Ingest and face analysis on a real Dask cluster (LocalCluster worker processes, no mocks):
the same records as the local process pool, nothing lost when a worker dies, a file that
kills its workers recorded as failed with its hashes."""
from __future__ import annotations

import os
import shutil
import signal

import numpy as np
import pytest
from PIL import Image

from forensics.case import Case
from forensics.cluster import ClusterSpec, check_spec, map_path, parse_path_map, spec_from
from forensics.ingest.pipeline import IngestOptions, run_ingest
from forensics.model import CaseError
from ingest_faults import crashing_worker, hanging_worker, slow_worker, worker_killing_worker
from kill_runs import kill_runs
from sample_cases.build import build_sample_evidence

FIELDS = ("kind", "mime", "size", "md5", "sha1", "sha256", "phash", "dhash", "width", "height", "status", "flags")


def _case(tmp_path, name: str) -> Case:
    return Case.create(tmp_path / name, name=name, number="T-1", examiner="Tester", authority="Test warrant 1")


def _folder(root, n: int = 200):
    root.mkdir(parents=True)
    rng = np.random.default_rng(7)
    for i in range(n):
        sub = root / f"d{i % 7}"
        sub.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(sub / f"img_{i:03d}.png")
    return root


def _records(case: Case) -> dict:
    out = {}
    for it in case.items():
        key = (it["relpath"], it["frame_index"])
        out[key] = tuple(it[f] for f in FIELDS)
    return out


def _faces(case: Case) -> dict:
    rows = case.store.query(
        "SELECT i.relpath, i.frame_index, f.box_top, f.box_right, f.box_bottom, f.box_left, f.embedding"
        " FROM faces f JOIN items i ON i.id = f.item_id")
    return {(r[0], r[1], r[2], r[3], r[4], r[5]): np.frombuffer(r[6], dtype=np.float32) for r in rows}


@pytest.fixture(scope="module")
def scheduler():
    """A LocalCluster reached by its tcp:// address, as a lab's scheduler would be."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           resources={"FACES": 1}, silence_logs=40)
    client = Client(cluster)
    yield cluster, client
    client.close()
    cluster.close()


def test_local_cluster_gives_the_same_records_and_faces_as_the_pool(tmp_path):
    ev = tmp_path / "ev"
    _folder(ev / "noise", 200)
    build_sample_evidence(ev / "sample")
    pool, dask = _case(tmp_path, "pool"), _case(tmp_path, "dask")
    s1 = pool.ingest([ev], IngestOptions(workers=2, faces=True))
    s2 = dask.ingest([ev], IngestOptions(faces=True), cluster=spec_from("local:2"))
    assert s1.added == s2.added >= 210 and s1.failed == s2.failed
    assert _records(pool) == _records(dask)
    f1, f2 = _faces(pool), _faces(dask)
    assert f1 and f1.keys() == f2.keys()
    for k in f1:
        assert np.allclose(f1[k], f2[k], atol=1e-5)
    run = dask.store.query("SELECT options FROM ingest_runs ORDER BY id DESC LIMIT 1")[0][0]
    assert '"address":"local:2"' in run
    entry = dask.audit_entries("ingest.start")[-1]
    assert entry.params["cluster"]["address"] == "local:2"


def _worker_pids(client) -> list[int]:
    return list(client.run(os.getpid).values())


def test_a_worker_killed_mid_run_loses_nothing(tmp_path, scheduler):
    cluster, client = scheduler
    ev = _folder(tmp_path / "ev", 60)
    case = _case(tmp_path, "c")
    killed: list[int] = []
    sandboxes: list = []

    def progress(p) -> None:
        if p.done >= 10 and not killed:
            import psutil

            pid = _worker_pids(client)[0]
            sandboxes.extend(psutil.Process(pid).children(recursive=True))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    spec = ClusterSpec(address=cluster.scheduler_address)
    s = run_ingest(case.ctx, [case.add_source(ev)], IngestOptions(), progress=progress, worker=slow_worker, cluster=spec)
    assert killed, "the run ended before a worker could be killed"
    assert s.added == 60 and s.failed == 0
    rel = [r[0] for r in case.store.query("SELECT relpath FROM items")]
    assert len(rel) == len(set(rel)) == 60
    assert all(i["status"] == "ok" and i["sha256"] and i["phash"] for i in case.items())
    # the killed worker's decoder sandbox does not linger as an orphan
    import psutil

    assert sandboxes, "the killed worker had no sandbox"
    _, alive = psutil.wait_procs(sandboxes, timeout=30)
    assert not alive, f"orphaned sandboxes still running: {[p.pid for p in alive]}"
    client.wait_for_workers(1, timeout=300)  # the nanny restarts the killed worker


def test_a_file_that_kills_its_worker_is_recorded_with_its_hashes(tmp_path, scheduler):
    cluster, client = scheduler
    ev = _folder(tmp_path / "ev", 12)
    (ev / "crash.jpg").write_bytes(b"a decoder dies on this file")
    case = _case(tmp_path, "c")
    spec = ClusterSpec(address=cluster.scheduler_address)
    s = run_ingest(case.ctx, [case.add_source(ev)], IngestOptions(), worker=crashing_worker, cluster=spec)
    assert s.added == 13 and s.failed == 1
    items = {i["relpath"]: i for i in case.items()}
    bad = items["crash.jpg"]
    assert bad["status"] == "error" and "worker_crash" in bad["flags"]
    assert "crash in a decoder" in bad["errors"][0]["message"]
    import hashlib

    assert bad["sha256"] == hashlib.sha256(b"a decoder dies on this file").hexdigest() and bad["size"] == 27
    assert all(i["status"] == "ok" for r, i in items.items() if r != "crash.jpg")
    client.wait_for_workers(1, timeout=300)


def _allowed_failures(n: int, dask_scheduler=None) -> int:
    """Set how many worker deaths a task survives before KilledWorker; returns the old value."""
    old, dask_scheduler.allowed_failures = dask_scheduler.allowed_failures, n
    return old


def test_a_chunk_whose_worker_dies_is_split_and_only_the_killing_file_fails(tmp_path, scheduler):
    """Files travel in chunks; a chunk whose worker dies (each time: no retry allowed here,
    to keep the test short) is split, its files tried one at a time, and only the file
    that kills its worker again is recorded as failed; a file that crashes only the
    decoder sandbox inside a chunk costs nothing but itself."""
    import hashlib

    cluster, client = scheduler
    client.wait_for_workers(1, timeout=300)
    ev = _folder(tmp_path / "ev", 60)
    (ev / "kill.jpg").write_bytes(b"this file takes its whole worker down")
    (ev / "crash.jpg").write_bytes(b"a decoder dies on this file")
    case = _case(tmp_path, "c")
    before = client.run_on_scheduler(_allowed_failures, 0)
    try:
        s = run_ingest(case.ctx, [case.add_source(ev)], IngestOptions(), worker=worker_killing_worker,
                       cluster=ClusterSpec(address=cluster.scheduler_address, chunk_files=4))
    finally:
        client.run_on_scheduler(_allowed_failures, before)
    assert s.added == 62 and s.failed == 2, [(i["relpath"], i["errors"]) for i in case.items() if i["status"] != "ok"]
    items = {i["relpath"]: i for i in case.items()}
    killer, crash = items["kill.jpg"], items["crash.jpg"]
    assert "worker_crash" in killer["flags"] and "killed its worker process" in killer["errors"][0]["message"]
    assert killer["sha256"] == hashlib.sha256(b"this file takes its whole worker down").hexdigest(), killer["errors"]
    assert "worker_crash" in crash["flags"] and "crash in a decoder" in crash["errors"][0]["message"]
    assert all(i["status"] == "ok" and i["phash"] for r, i in items.items() if r not in ("kill.jpg", "crash.jpg"))
    client.wait_for_workers(1, timeout=300)  # the nannies restart the killed workers


def test_a_file_that_hangs_its_decoder_times_out_and_the_run_goes_on(tmp_path, scheduler):
    cluster, _ = scheduler
    ev = _folder(tmp_path / "ev", 6)
    (ev / "hang.jpg").write_bytes(b"a decoder never returns on this file")
    case = _case(tmp_path, "c")
    s = run_ingest(case.ctx, [case.add_source(ev)], IngestOptions(file_timeout=10.0), worker=hanging_worker,
                   cluster=ClusterSpec(address=cluster.scheduler_address))
    assert s.added == 7 and s.failed == 1
    bad = next(i for i in case.items() if i["relpath"] == "hang.jpg")
    assert "timeout" in bad["flags"] and bad["size"] == 36 and bad["md5"]


def test_path_map_reads_the_workers_copy_and_a_wrong_map_is_an_error(tmp_path, scheduler):
    cluster, _ = scheduler
    ev = _folder(tmp_path / "case_view", 8)
    mirror = tmp_path / "worker_view"
    shutil.copytree(ev, mirror)
    case = _case(tmp_path, "ok")
    spec = ClusterSpec(address=cluster.scheduler_address, path_map=parse_path_map([f"{ev}={mirror}"]))
    s = case.ingest([ev], IngestOptions(), cluster=spec)
    assert s.added == 8 and s.failed == 0
    assert {i["relpath"] for i in case.items()} == {os.path.relpath(p, ev) for p in map(str, ev.rglob("*.png"))}
    # a mapping to a folder whose files differ: each file is an error, never a different file's record
    wrong = tmp_path / "wrong"
    shutil.copytree(ev, wrong)
    for p in wrong.rglob("*.png"):
        p.write_bytes(p.read_bytes() + b"x")
    bad = _case(tmp_path, "bad")
    spec = ClusterSpec(address=cluster.scheduler_address, path_map=parse_path_map([f"{ev}={wrong}"]))
    s = bad.ingest([ev], IngestOptions(), cluster=spec)
    assert s.added == 8 and s.failed == 8
    assert all("path_map_mismatch" in i["flags"] and i["sha256"] is None for i in bad.items())


def test_a_disk_image_on_the_cluster_is_read_by_the_workers_through_the_mapped_image(tmp_path, scheduler):
    """Workers get each file's evidence reference and open the image read-only through TSK
    themselves; --path-map applies to the image's path, and a mapped image of another size is
    an error on every file, never another image's records."""
    import diskimages as di

    cluster, _ = scheduler
    files = di.evidence_files(tmp_path / "files")
    view = tmp_path / "case_view"
    view.mkdir()
    raw = di.fat_mbr_disk(view / "disk.raw", files)
    local = _case(tmp_path, "local")
    local.ingest([raw], IngestOptions(workers=1))

    def on_cluster(name: str, worker_copy) -> tuple:
        mirror = tmp_path / f"worker_view_{name}"
        mirror.mkdir()
        worker_copy(mirror / "disk.raw")
        case = _case(tmp_path, name)
        spec = ClusterSpec(address=cluster.scheduler_address, path_map=parse_path_map([f"{view}={mirror}"]))
        return case, case.ingest([raw], IngestOptions(), cluster=spec)

    same, s = on_cluster("same", lambda dst: shutil.copy(raw, dst))
    assert s.failed == 0 and s.added == len(local.items(include_frames=False)) == 4  # 2 photos, video, deleted
    assert _records(same) == _records(local)  # hashes, pHash, sizes, video frames
    assert same.store.scalar("SELECT COUNT(*) FROM item_image_refs") == s.added
    nested = "partition 1 (FAT16)/DCIM/2024/MAY/IMG_0002.JPG"

    def flipped(dst) -> None:  # the workers' copy differs in one byte of one photo
        shutil.copy(raw, dst)
        photo = files["DCIM/2024/MAY/IMG_0002.JPG"].read_bytes()
        needle = photo[-300:-236]  # entropy-coded data: JPEG headers repeat across photos
        assert dst.read_bytes().count(needle) == 1
        di.flip_byte_in([dst], needle)

    changed, s = on_cluster("flipped", flipped)
    a, b = _records(local), _records(changed)
    assert [k for k in a if a[k][3] != b[k][3]] == [(nested, None)]  # md5: read from the mapped image

    wrong, s = on_cluster("wrong", lambda dst: dst.write_bytes(raw.read_bytes() + b"x"))
    items = wrong.items(include_frames=False)
    assert s.added == len(items) == 4 and s.failed == 4
    assert all("path_map_mismatch" in i["flags"] and i["sha256"] is None for i in items)
    assert "the disk image" in items[0]["errors"][0]["message"]


def test_faces_analyze_on_the_cluster_matches_local(tmp_path, scheduler):
    cluster, _ = scheduler
    ev = build_sample_evidence(tmp_path / "ev")
    a, b = _case(tmp_path, "a"), _case(tmp_path, "b")
    for c in (a, b):
        c.ingest([ev], IngestOptions(workers=1, faces=False))
    ra = a.faces.analyze(workers=1)
    rb = b.faces.analyze(cluster=ClusterSpec(address=cluster.scheduler_address))
    assert ra["faces"] == rb["faces"] > 0 and ra["analysed"] == rb["analysed"] and ra["videos"] == rb["videos"] >= 1
    fa, fb = _faces(a), _faces(b)
    assert fa.keys() == fb.keys()
    assert all(np.allclose(fa[k], fb[k], atol=1e-5) for k in fa)


def test_cluster_addresses_are_checked_before_anything_runs():
    assert spec_from(None) is None
    with pytest.raises(CaseError, match="not on this machine"):
        check_spec(ClusterSpec("tcp://192.0.2.10:8786"))
    check_spec(ClusterSpec("tcp://192.0.2.10:8786", insecure=True))
    check_spec(ClusterSpec("tcp://127.0.0.1:8786"))
    with pytest.raises(CaseError, match="tls-ca-file"):
        check_spec(ClusterSpec("tls://192.0.2.10:8786"))
    for bad in ("local:0", "local:x", "http://h:1", "h:8786"):
        with pytest.raises(CaseError):
            check_spec(ClusterSpec(bad))
    pm = parse_path_map(["/mnt/ev=/srv/ev", "/mnt/ev/deep=/other"])
    assert map_path(b"/mnt/ev/a/b.jpg", pm) == b"/srv/ev/a/b.jpg"
    assert map_path(b"/mnt/ev/deep/x", pm) == b"/other/x"
    assert map_path(b"/mnt/evidence2/x", pm) == b"/mnt/evidence2/x"


def test_files_are_chunked_by_count_bytes_and_the_workers_they_are_bound_to(tmp_path):
    from forensics.cluster import Cluster, parse_source_workers
    from forensics.ingest.cluster_run import chunked
    from forensics.ingest.records import FileTask

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    sizes = [10, 10, 10, 10, 10, 500, 10, 10]  # the 500-byte file is larger than a chunk may be
    for i, n in enumerate(sizes):
        (a / f"f{i}").write_bytes(b"x" * n)
    (b / "g0").write_bytes(b"y")
    tasks = [FileTask(1, bytes(a), f"f{i}".encode()) for i in range(len(sizes))] + [FileTask(2, bytes(b), b"g0")]
    cl = Cluster(ClusterSpec("local:2", source_workers=parse_source_workers([f"{b}=tcp://127.0.0.1:1"])), client=None)
    chunks = [([t.relpath for t, _ in c], w) for c, w in chunked(tasks, cl, max_files=3, max_bytes=40)]
    assert chunks == [([b"f0", b"f1", b"f2"], None), ([b"f3", b"f4"], None), ([b"f5"], None), ([b"f6", b"f7"], None),
                      ([b"g0"], ["tcp://127.0.0.1:1"])]
    # the sizes the case sees travel with the files only when a path map asks the worker to check them
    assert all(e is None for c, _ in chunked(tasks, cl, 3, 40) for _, e in c)
    mapped = Cluster(ClusterSpec("local:2", path_map=parse_path_map([f"{a}=/srv/a"])), client=None)
    assert [e for c, _ in chunked(tasks[:2], mapped, 3, 40) for _, e in c] == [10, 10]
    # tapered for 2 worker threads: at most the remaining files over 4 per chunk, so the chunks
    # shrink towards the end and the workers run out of files together
    many = [FileTask(1, bytes(a), b"f0")] * 100
    sizes_tapered = [len(c) for c, _ in chunked(many, cl, max_files=16, max_bytes=1 << 20, taper=2)]
    assert sum(sizes_tapered) == 100 and sizes_tapered[:4] == [16, 16, 16, 13]
    assert sizes_tapered == sorted(sizes_tapered, reverse=True) and sizes_tapered[-3:] == [1, 1, 1]


def test_the_sandbox_takes_files_in_order_with_the_next_one_queued_and_pins_a_crash_or_hang_on_its_file():
    """The worker side without Dask. The next call is queued in the sandbox while one runs,
    yet a crash or hang is pinned on the running call, and the queued one runs again in a
    new sandbox."""
    from forensics.cluster import _reset_sandbox, run_sandboxed_each
    from ingest_faults import sandbox_probe

    calls = [("ok", 1), ("crash", 2), ("ok", 3), ("hang", 4), ("ok", 5), ("ok", 6)]
    try:
        out = list(run_sandboxed_each(3.0, sandbox_probe, calls))
    finally:
        _reset_sandbox(every=True)
    assert [o for o, _ in out] == ["ok", "crash", "ok", "timeout", "ok", "ok"]
    assert [v[0] for o, v in out if o == "ok"] == [1, 3, 5, 6]
    pids = [v[1] for o, v in out if o == "ok"]
    assert pids[0] != pids[1] != pids[2] == pids[3]  # a new sandbox after each crash or hang, kept otherwise


def test_the_sandbox_decodes_with_glibcs_default_malloc_not_dasks_trim_setting(monkeypatch):
    """Dask's nanny gives workers MALLOC_TRIM_THRESHOLD_=65536, which makes every decoded
    picture's buffer a fresh mmap (about 30 % more CPU per photo, measured); the sandbox that
    decodes must not inherit it."""
    from forensics.cluster import _reset_sandbox, run_sandboxed_each
    from ingest_faults import sandbox_env

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # as the nanny starts a worker
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    _reset_sandbox(every=True)
    try:
        out = list(run_sandboxed_each(30.0, sandbox_env, [("MALLOC_TRIM_THRESHOLD_",), ("OMP_NUM_THREADS",)]))
    finally:
        _reset_sandbox(every=True)
    assert out == [("ok", None), ("ok", "1")]


def test_the_environment_variable_names_the_cluster(monkeypatch):
    monkeypatch.setenv("FORENSICS_CLUSTER", "local:3")
    assert spec_from(None).local_workers == 3
    monkeypatch.setenv("FORENSICS_CLUSTER", "")
    assert spec_from(None) is None


def test_killing_the_submitter_then_rerunning_gives_one_record_per_file(tmp_path, scheduler):
    """kill -9 of the process that owns the writer, twice, while its tasks run on the cluster;
    a re-run on the cluster finishes the job with exactly one record per file."""
    import sys

    cluster, _ = scheduler
    n = 120
    ev = _folder(tmp_path / "ev", n)
    case_dir = tmp_path / "case"
    _case(tmp_path, "case").close()
    case = Case.open(case_dir, examiner="Checker")
    cmd = [sys.executable, "-m", "forensics.cli", "ingest", str(case_dir), str(ev), "--no-faces", "--no-analysis",
           "--cluster", cluster.scheduler_address, "--examiner", "Killer"]
    kills = kill_runs(cmd, lambda: case.store.scalar("SELECT COUNT(*) FROM items"), tries=2, grow=10, timeout=180)
    assert kills >= 1, "the runs finished before they could be killed"
    s = case.ingest([ev], IngestOptions(), cluster=ClusterSpec(address=cluster.scheduler_address))
    assert s.added + s.skipped == n
    rel = [r[0] for r in case.store.query("SELECT relpath FROM items")]
    assert len(rel) == len(set(rel)) == n
    assert all(i["status"] == "ok" and i["sha256"] for i in case.items())
    runs = [r["status"] for r in case.stats()["ingest_runs"]]
    # a kill that lands after the run wrote its end (while the client disconnects) interrupts nothing
    assert "running" not in runs and 1 <= runs.count("interrupted") <= kills
    assert case.verify_audit().ok
    case.close()
