"""What a known-hash set entry means, decided per entry: the `status` column of
`hash_set_entries` (migration 0007 writes the same rule in SQL for old rows).

One Project VIC (VICS) distribution file mixes categories 0-4, so an entry's own category
decides what it is, and the set's kind is only the default for entries that carry none
(md5sum lists, NSRL, a VICS Media record without a Category):

- category 0, non-pertinent: hidden like known-good, never counted as known-bad;
- categories 1 and 2, known-bad (VICS: child abuse material; child exploitive / age
  difficult; IPED's HashDBTool maps 0 to "known" and 1-2 to "pedo" the same way);
- any other category (3 CGI/animation, 4 comparison images, local 5-99): the category is
  applied to matching items, but they are not counted as known-bad;
- no category: the set's kind ('known-bad' or 'known-good').
"""
from __future__ import annotations

KNOWN_BAD, CATEGORISED, NON_PERTINENT, KNOWN_GOOD = "known-bad", "categorised", "non-pertinent", "known-good"
STATUSES = (KNOWN_BAD, CATEGORISED, NON_PERTINENT, KNOWN_GOOD)
KNOWN_BAD_CATEGORIES = (1, 2)
NON_PERTINENT_CATEGORY = 0
# Statuses whose matches are hidden with "hide known-good" (unless the item also matches
# an entry that is not) and statuses whose category is applied to matching items.
HIDDEN = (NON_PERTINENT, KNOWN_GOOD)
APPLIES_CATEGORY = (KNOWN_BAD, CATEGORISED, NON_PERTINENT)


def entry_status(category: int | None, set_kind: str) -> str:
    """The meaning of one entry: its own category first, the set's kind as the default."""
    if category is None:
        return set_kind
    if category == NON_PERTINENT_CATEGORY:
        return NON_PERTINENT
    if category in KNOWN_BAD_CATEGORIES:
        return KNOWN_BAD
    return CATEGORISED


# The category an entry gives a matching item (`e` an entry row, `s` its set): its own,
# else the set's default category for known-bad entries.
EFFECTIVE_CATEGORY_SQL = f"COALESCE(e.category, CASE WHEN e.status = '{KNOWN_BAD}' THEN s.category END)"


# Most telling first: what an item "is" when it matches several entries.
STATUS_RANK_SQL = (f"CASE e.status WHEN '{KNOWN_BAD}' THEN 0 WHEN '{CATEGORISED}' THEN 1"
                   f" WHEN '{NON_PERTINENT}' THEN 2 ELSE 3 END")


def item_status_sql(item: str) -> str:
    """SQL scalar: the most telling status among the item's hash-set matches (or NULL)."""
    return (f"(SELECT e.status FROM hash_matches m JOIN hash_set_entries e ON e.id = m.entry_id"
            f" WHERE m.item_id = {item} ORDER BY {STATUS_RANK_SQL} LIMIT 1)")


def sql_in(values: tuple[str, ...]) -> str:
    """A constant SQL list for fixed status names (never user input)."""
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# An item is hidden as known-good only when no entry it matches says otherwise: a file in
# NSRL that is also category 1 in a VICS set must never be hidden.
HIDDEN_ITEM_SQL = (
    "EXISTS (SELECT 1 FROM hash_matches m JOIN hash_set_entries e ON e.id = m.entry_id"
    f" WHERE m.item_id = {{item}} AND e.status IN {sql_in(HIDDEN)})"
    " AND NOT EXISTS (SELECT 1 FROM hash_matches m JOIN hash_set_entries e ON e.id = m.entry_id"
    f" WHERE m.item_id = {{item}} AND e.status NOT IN {sql_in(HIDDEN)})")


def hidden_item_sql(item: str) -> str:
    """SQL condition: the item (an SQL expression for its id) is hidden as known-good."""
    return "(" + HIDDEN_ITEM_SQL.replace("{item}", item) + ")"
