"""The filter panel's hash-set choice: picking one imported set shows exactly the items
that set matches, with the list of sets and their counts fed by the case's sets."""
from __future__ import annotations

from pathlib import Path

from forensics import browse


def test_picking_a_set_filters_the_gallery_to_its_matches(opened, qtbot, tmp_path: Path) -> None:
    case = opened.case
    files = [i for i in case.items(include_frames=False) if i["md5"] and i["size"] and i["kind"] == "image"]
    assert len(files) >= 6
    # Two sets that overlap in one file: a and b share files[2].
    for name, chosen in (("seized-a", files[0:3]), ("seized-b", files[2:6])):
        lst = tmp_path / f"{name}.txt"
        lst.write_text("\n".join(i["md5"] for i in chosen) + "\n")
        case.hashsets.import_file(lst, name, kind="known-bad")
    sets = {s["name"]: s["set_id"] for s in case.hashsets.sets()}

    def matched(set_id: int) -> set[int]:
        return {m["item_id"] for m in case.hashsets.matches() if m["set_id"] == set_id}

    # Binary copies of a listed file match too: the expected answer is the set's own matches.
    want_a, want_b = matched(sets["seized-a"]), matched(sets["seized-b"])
    assert want_a and want_b and want_a != want_b and want_a & want_b
    assert {i["id"] for i in files[0:3]} <= want_a and {i["id"] for i in files[2:6]} <= want_b

    panel = opened.gallery.filters
    with qtbot.waitSignal(opened.queries.facets_ready, timeout=10_000):
        opened.refresh_facets()
    labels = [panel.hash_set.itemText(n) for n in range(panel.hash_set.count())]
    assert labels[0] == "any set"
    assert f"seized-a (known-bad) ({len(want_a):,})" in labels and f"seized-b (known-bad) ({len(want_b):,})" in labels

    for name, want in (("seized-a", want_a), ("seized-b", want_b)):
        with qtbot.waitSignal(opened.gallery_refreshed, timeout=10_000):
            panel.hash_set.setCurrentIndex(panel.hash_set.findData(sets[name]))
        assert set(opened.model.ids()) == want
        assert opened.model.ids() == browse.item_ids(case.ctx, panel.filter(), *panel.sort_key())

    with qtbot.waitSignal(opened.gallery_refreshed, timeout=10_000):
        panel.hash_set.setCurrentIndex(0)
    assert opened.model.rowCount() == browse.count(case.ctx, panel.filter()) > len(want_a | want_b)
