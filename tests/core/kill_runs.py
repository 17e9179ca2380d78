"""Run a command again and again, killing it (SIGKILL, its whole process group) once it has
committed a few more items: what a crash or a pulled plug does to an ingest."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable


def kill_runs(cmd: list[str], committed: Callable[[], int], tries: int, grow: int, timeout: float = 120) -> int:
    """Start `cmd` `tries` times; kill each run once `committed()` has grown by `grow` (or
    let it finish). Returns how many runs were killed."""
    kills = 0
    for _ in range(tries):
        before = committed()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if committed() >= before + grow:
                break
            time.sleep(0.02)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    return kills


def assert_one_record_per_file(store, total: int) -> None:
    """After the killed runs and a last full one: every one of `total` files has exactly one
    item row."""
    rows = store.query("SELECT relpath, COUNT(*) FROM items GROUP BY relpath")
    assert len(rows) == total and all(r[1] == 1 for r in rows), [r for r in rows if r[1] != 1][:5]
