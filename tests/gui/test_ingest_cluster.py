"""The workbench's ingest can be pointed at a Dask scheduler: the run uses it and records
it, and an address the core refuses is refused before anything runs."""
from __future__ import annotations

import pytest

from forensics.model import CaseError


def test_ingest_controller_runs_on_a_local_dask_cluster(window, qtbot, tmp_path, sample_evidence):
    from forensics.case import Case

    path = tmp_path / "dask_case"
    Case.create(path, name="Dask", number="D-1", examiner="Tester", authority="Warrant D-1 (test)").close()
    with qtbot.waitSignal(window.gallery_refreshed, timeout=20_000):
        window.open_case(path, examiner="Tester")
    controller = window.ingest_controller
    with qtbot.waitSignal(controller.finished, timeout=300_000) as sig:
        controller.start([str(sample_evidence)], faces=False, cluster="local:1")
    summary = sig.args[0]
    assert summary is not None and not isinstance(summary, Exception), summary
    assert summary.added == summary.found >= 8
    window.tasks.wait(30_000)
    # the sample's deliberately broken files fail as they do in the pool, nothing else does
    failed = [i for i in window.case.items() if i["status"] == "error"]
    assert len(failed) == summary.failed and not any("worker_crash" in i["flags"] for i in failed)
    entry = window.case.audit_entries("ingest.start")[-1]
    assert entry.params["cluster"]["address"] == "local:1"
    window.close_case()


def test_a_plain_tcp_scheduler_elsewhere_is_refused(opened):
    with pytest.raises(CaseError, match="not on this machine"):
        opened.ingest_controller.start(["/nonexistent"], cluster="tcp://192.0.2.7:8786")
    assert not opened.ingest_controller.running
