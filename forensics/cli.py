"""The `forensics` command line. Sub-commands live in forensics/commands/*.py, each with a
`register(subparsers)` function; every command that reports takes --json and prints one
JSON document on stdout, with progress and logs on stderr."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sqlite3
import sys
import time
from typing import Any

from forensics import __version__
from forensics.model import CaseError


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_CONTROL.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
_CONTROL_BUT_NEWLINE = {k: v for k, v in _CONTROL.items() if k != 0x0A}


def plain(value: object) -> str:
    """A value (a file name, a path, an error text) for one line of plain-text output:
    control characters, newlines included, are shown as escapes, so evidence names can
    neither break a listing into false lines nor send codes to the terminal."""
    return str(value).translate(_CONTROL)


def emit(args: argparse.Namespace, data: Any, text: str | None = None) -> None:
    """Print `data` as one JSON document with --json, otherwise `text` (or pretty JSON).
    Callers pass names through `plain`; control characters left in `text` other than its
    line breaks are escaped here."""
    if getattr(args, "json", False) or text is None:
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text.rstrip("\n").translate(_CONTROL_BUT_NEWLINE) + "\n")


class ProgressBar:
    """The one progress display of the CLI: a line on stderr (never stdout) with count, rate,
    ETA and failures; redrawn in place on a terminal, a line every few seconds in a log."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, p) -> None:
        now = time.monotonic()
        final = bool(p.total) and p.done >= p.total
        if not final and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        if p.total:
            frac = min(p.done / p.total, 1.0)
            bar = "#" * int(frac * 30)
            line = f"{self.label} [{bar:<30}] {p.done:,}/{p.total:,}"
        else:
            line = f"{self.label} {p.done:,}"
        if p.rate:
            line += f" {p.rate:6.1f}/s"
        if p.eta is not None and p.total:
            line += f" ETA {p.eta:5.0f}s"
        if p.failed:
            line += f" failed {p.failed}"
        if p.message:
            line += f"  {p.message[-50:]}"
        sys.stderr.write(("\r" + line + "   ") if self.tty else line + "\n")
        if self.tty and final:
            sys.stderr.write("\n")
        sys.stderr.flush()


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")


EXAMINER_HELP = "examiner acting and recorded in the audit log (default: the OS user name)"


def add_case(p: argparse.ArgumentParser) -> None:
    p.add_argument("case_dir", metavar="DIR", help="case folder")
    # also after the sub-command; SUPPRESS keeps a global --examiner when this one is absent
    p.add_argument("--examiner", default=argparse.SUPPRESS, help=EXAMINER_HELP)


def add_cluster(p: argparse.ArgumentParser) -> None:
    """Options that put the per-file work on a Dask cluster (forensics.cluster)."""
    g = p.add_argument_group("cluster (Dask distributed)")
    g.add_argument("--cluster", metavar="ADDRESS",
                   help="local:N for a LocalCluster of N worker processes, or a scheduler tcp://HOST:8786 or "
                        "tls://HOST:8786 (default: $FORENSICS_CLUSTER, else the local process pool)")
    g.add_argument("--path-map", action="append", default=[], metavar="CASE_PATH=WORKER_PATH",
                   help="where the workers see a source (repeatable); each file's size is re-checked there")
    g.add_argument("--source-workers", action="append", default=[], metavar="SOURCE_PATH=WORKER[,WORKER]",
                   help="run files under SOURCE_PATH only on these workers (evidence on their own disks)")
    g.add_argument("--insecure-cluster", action="store_true",
                   help="allow plain tcp:// to a scheduler on another machine (trusted, isolated network only)")
    g.add_argument("--tls-ca-file")
    g.add_argument("--tls-cert")
    g.add_argument("--tls-key")


def cluster_spec(args: argparse.Namespace):
    """The ClusterSpec the options ask for, or None for the local process pool."""
    from forensics.cluster import parse_path_map, parse_source_workers, spec_from

    return spec_from(getattr(args, "cluster", None), insecure=args.insecure_cluster,
                     tls_ca_file=args.tls_ca_file, tls_cert=args.tls_cert, tls_key=args.tls_key,
                     path_map=parse_path_map(args.path_map), source_workers=parse_source_workers(args.source_workers))


def open_case(args: argparse.Namespace, readonly: bool = False):
    """The case of a command; `readonly` for commands that only read it (they then work
    on a full disk and on read-only media)."""
    from forensics.case import Case

    return Case.open(args.case_dir, examiner=getattr(args, "examiner", None), readonly=readonly)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="forensics", description="Case-based image and video forensics.")
    parser.add_argument("--version", action="version", version=f"forensics {__version__}")
    parser.add_argument("--examiner", help=EXAMINER_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import forensics.commands as pkg

    # Case and ingest commands first in --help, then the rest by module name.
    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: (m.name != "core", m.name)):
        importlib.import_module(f"forensics.commands.{mod.name}").register(sub)
    return parser


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `cat` or `grep` cut off by `head`


def main(argv: list[str] | None = None) -> int:
    """Run one command. Output cut off by its reader (`forensics items CASE | head`) ends
    the run quietly with 141, as Unix tools do, instead of a BrokenPipeError traceback."""
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # here, inside the try, not at interpreter exit
    except BrokenPipeError:
        # Python's recipe (docs: signal, "Note on SIGPIPE"): point stdout at devnull so the
        # flush at exit has nowhere to fail, and say nothing: the reader chose to stop.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CaseError as exc:
        print(f"forensics: error: {exc}", file=sys.stderr)
        if getattr(args, "json", False):
            emit(args, {"error": str(exc)})
        return 1
    except BrokenPipeError:
        raise  # an OSError, but no storage problem: main() ends quietly
    except (OSError, sqlite3.OperationalError) as exc:
        # Disk full, read-only folder, permission: one clear line, not a traceback.
        from forensics.store.db import storage_error

        where = getattr(exc, "filename", None) or getattr(args, "case_dir", "") or ""
        err = storage_error(exc, os.fsdecode(where) if isinstance(where, bytes) else where)
        if err is None and not isinstance(exc, OSError):
            raise
        print(f"forensics: error: {err or _os_text(exc)}", file=sys.stderr)
        if getattr(args, "json", False):
            emit(args, {"error": str(err or _os_text(exc))})
        return 1
    except KeyboardInterrupt:
        print("forensics: interrupted; committed work is kept, run the command again to resume", file=sys.stderr)
        return 130


def _os_text(exc: OSError) -> str:
    where = f": {exc.filename!r}" if exc.filename else ""
    return f"{exc.strerror or type(exc).__name__}{where}"


if __name__ == "__main__":
    sys.exit(main())
