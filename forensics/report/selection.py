"""Which items a report covers: `bookmarked`, `category:N`, `person:ID`, `all-tagged`, `all`."""
from __future__ import annotations

from dataclasses import dataclass

from forensics.model import CaseError
from forensics.report.sources import ReportSources

SELECTIONS = ("bookmarked", "category:N", "person:ID", "all-tagged", "all")


@dataclass(frozen=True)
class Selection:
    """A resolved selection: the spec as given, a sentence for the report, the item ids."""

    spec: str
    description: str
    item_ids: tuple[int, ...]
    person_ids: tuple[int, ...] | None = None  # set for person:ID; otherwise persons are derived


def _ids(src: ReportSources, where: str, args: tuple = ()) -> tuple[int, ...]:
    return tuple(r[0] for r in src.ctx.store.query(f"SELECT id FROM items WHERE {where} ORDER BY id", args))


def person_item_ids(src: ReportSources, person_id: int) -> list[int]:
    """Items in which a person appears: photos, and the video files of their tracks."""
    from forensics.report.people import appearances

    person = src.faces.person(person_id)
    if not person:
        raise CaseError(f"no person {person_id} in this case")
    ids: set[int] = set()
    for a in appearances(src, person):
        ids.add(a["item_id"])
    return sorted(ids)


def resolve(src: ReportSources, spec: str) -> Selection:
    """Turn a selection string into the ids of the items it covers (in id order)."""
    spec = (spec or "bookmarked").strip()
    kind, _, arg = spec.partition(":")
    kind = kind.lower()
    if kind == "bookmarked" and not arg:
        return Selection(spec, "Items bookmarked by the examiner", _ids(src, "bookmarked = 1"))
    if kind == "category":
        try:
            number = int(arg)
        except ValueError:
            raise CaseError(f"selection {spec!r}: the category must be a number, e.g. category:1") from None
        name = src.ctx.catalogue.categories().get(number, f"category {number}")
        return Selection(spec, f"Items in category {number} ({name})", _ids(src, "category = ?", (number,)))
    if kind == "person":
        try:
            pid = int(arg)
        except ValueError:
            raise CaseError(f"selection {spec!r}: give a person id, e.g. person:3") from None
        try:
            ids = person_item_ids(src, pid)
            name = src.faces.person(pid)["name"] or f"person {pid}"
        except CaseError:
            raise
        except Exception as exc:
            raise CaseError(f"selection {spec!r}: persons are unavailable in this case ({exc})") from exc
        return Selection(spec, f"Items in which {name} (person {pid}) appears", tuple(ids), (pid,))
    if kind == "all-tagged" and not arg:
        return Selection(spec, "Items the examiner categorised, tagged, annotated or bookmarked", _ids(
            src, "category IS NOT NULL OR bookmarked = 1 OR note IS NOT NULL"
                  " OR id IN (SELECT item_id FROM item_tags)"))
    if kind == "all" and not arg:
        return Selection(spec, "Every file in the case", _ids(src, "parent_id IS NULL"))
    raise CaseError(f"unknown selection {spec!r}; use one of: {', '.join(SELECTIONS)}")
