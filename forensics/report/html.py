"""Self-contained HTML report: one Jinja2 template, streamed to disk chunk by chunk.

`Template.generate` renders lazily, so the item, audit and error generators are pulled
from SQLite while the file is being written; memory stays at one batch of items.
Thumbnails are embedded as data: URIs, so the file reads anywhere without the tool.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from forensics.report.gather import human_size
from forensics.report.people import format_seconds

FLUSH_CHARS = 1 << 20


def environment():
    """The Jinja2 environment over the templates shipped in forensics/report/templates."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("forensics.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.filters["size"] = human_size
    env.filters["seconds"] = format_seconds
    return env


def css() -> str:
    return resources.files("forensics.report").joinpath("templates/report.css").read_text(encoding="utf-8")


def write_html(out: Path, context: dict[str, Any]) -> None:
    """Render the report template into `out`, streaming."""
    template = environment().get_template("report.html.j2")
    buf: list[str] = []
    size = 0
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        for chunk in template.generate(css=css(), **context):
            buf.append(chunk)
            size += len(chunk)
            if size >= FLUSH_CHARS:
                f.write("".join(buf))
                buf, size = [], 0
        f.write("".join(buf))
