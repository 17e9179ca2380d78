"""Run inside a private mount namespace with an 8 MiB tmpfs at argv[1] (see
test_faults_disk.py): fill the disk during an ingest, check the read-only commands on the
full disk, free space, re-run. Prints one JSON document of observations."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def cli(*args: str) -> dict:
    p = subprocess.run([sys.executable, "-m", "forensics.cli", *args], capture_output=True, text=True)
    return {"rc": p.returncode, "out": p.stdout, "err": p.stderr}


def main() -> None:
    mnt, evidence, elsewhere = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    case = mnt / "case"
    obs: dict = {"create": cli("case", "create", str(case), "--name", "n", "--number", "1", "--examiner", "e",
                               "--authority", "w")}
    filler = mnt / "filler"
    with open(filler, "wb") as f:  # leave about 600 KiB: enough for a few files, not all
        f.write(b"\0" * (os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize - (600 << 10)))
    obs["ingest_full"] = cli("ingest", str(case), str(evidence), "--workers", "1", "--no-faces", "--json")
    try:  # whatever is left, so the disk is really full now
        with open(mnt / "filler2", "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError:
        pass
    obs["free_bytes_when_full"] = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
    for name, args in {"info": ("info", str(case), "--json"), "items": ("items", str(case), "--json"),
                       "audit_verify": ("audit", "verify", str(case), "--json"),
                       "verify": ("verify", str(case), "--json"),
                       "report": ("report", str(case), "--out", str(elsewhere / "r.html"), "--selection", "all",
                                  "--json")}.items():
        obs[name] = cli(*args)
    filler.unlink()
    (mnt / "filler2").unlink(missing_ok=True)
    obs["ingest_again"] = cli("ingest", str(case), str(evidence), "--workers", "1", "--no-faces", "--json")
    obs["info_after"] = cli("info", str(case), "--json")
    obs["audit_after"] = cli("audit", "verify", str(case), "--json")
    obs["runs"] = cli("audit", "list", str(case), "--action", "ingest", "--json")
    print(json.dumps(obs))


if __name__ == "__main__":
    main()
