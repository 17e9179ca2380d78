"""Hash sets from the workbench: a VICS import from the dialog matches the same items, with
the same categories and the same audit record, as the same import from the CLI; Cancel
rolls an import back; the sets dialog lists the set with its counts."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from PyQt6.QtWidgets import QMessageBox

from forensics import browse
from forensics.case import Case
from gui.dialogs.hashsets import COLUMNS, HashSetImportDialog, HashSetsDialog

VICS20 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"


def _vics(case_dir: Path, out: Path) -> tuple[Path, dict[int, int]]:
    """A VICS 2.0 file over five files of the case, categories 0, 1, 2, 3 and none, plus a
    hash of nothing in the case; returns it and the category each matched item gets."""
    case = Case.open(case_dir, examiner="DC Test")
    try:
        items = [i for i in case.items(include_frames=False) if i["md5"] and i["size"]]
        md5s = [i["md5"] for i in items]
        files = [i for i in items if md5s.count(i["md5"]) == 1][:5]  # not binary copies: one item per entry
    finally:
        case.close()
    assert len(files) == 5
    cats = [0, 1, 2, 3, None]
    value = []
    for n, (it, cat) in enumerate(zip(files, cats)):
        m = {"MediaID": n + 1, "MD5": it["md5"].upper(), "IsPrecategorized": "false"}
        if n % 2:
            m["SHA1"] = it["sha1"].upper()
        if cat is not None:
            m["Category"] = cat
        value.append(m)
    value.append({"MediaID": 99, "Category": 1, "MD5": hashlib.md5(b"not in the case").hexdigest()})
    out.write_text(json.dumps({"@odata.context": VICS20, "value": value}))
    # Entries without a category take the set's default (known-bad, category 2 below).
    return out, {it["id"]: (2 if cat is None else cat) for it, cat in zip(files, cats)}


def _matches(case_or_rows) -> list[tuple]:
    return sorted((m["item_id"], m["kind"], m["category"], m["hash"], m["path"]) for m in case_or_rows)


def test_vics_import_from_the_dialog_matches_the_cli(window, case_dir: Path, tmp_path: Path, qtbot,
                                                     monkeypatch) -> None:
    vics, expected = _vics(case_dir, tmp_path / "vic.json")
    cli_dir = tmp_path / "cli_case"
    shutil.copytree(case_dir, cli_dir)
    run = [sys.executable, "-m", "forensics.cli", "--examiner", "DC Test"]
    cli = json.loads(subprocess.run(run + ["hashsets", "import", str(cli_dir), str(vics), "--name", "VIC",
                                           "--category", "2", "--json"], capture_output=True, text=True, check=True).stdout)
    cli_matches = json.loads(subprocess.run(run + ["hashsets", "matches", str(cli_dir), "--json"],
                                            capture_output=True, text=True, check=True).stdout)["matches"]

    with qtbot.waitSignal(window.gallery_refreshed, timeout=10_000):
        window.open_case(case_dir, examiner="DC Test")
    dlg: HashSetImportDialog = window.import_hash_set()
    dlg.set_file(str(vics))
    assert dlg.name.text() == "vic" and dlg.format_label.text().startswith("Project VIC VICS JSON")
    dlg.name.setText("VIC")
    dlg.category.setValue(2)
    with qtbot.waitSignal(window.gallery_refreshed, timeout=30_000):  # the window refreshes after the import
        task = dlg.start()
    assert task.result is not None and dlg.result == task.result
    assert f"as VIC [vics-2.0]: {cli['matched_items']:,} items match" in dlg.message.text()

    case = window.case
    gui = dlg.result
    drop = ("seconds", "set_id")
    assert {k: v for k, v in gui.items() if k not in drop} == {k: v for k, v in cli.items() if k not in drop}
    assert _matches(case.hashsets.matches()) == _matches(cli_matches)
    assert {m["item_id"]: m["category"] for m in case.hashsets.matches()} == expected
    assert {i: case.item(i)["category"] for i in expected} == expected  # the categories the items took
    # Audited as the CLI audits it (the same parameters; the result differs only in its timing).
    cli_case = Case.open(cli_dir, examiner="DC Test", readonly=True)
    try:
        (cli_entry,), (gui_entry,) = cli_case.audit_entries("hashset.import"), case.audit_entries("hashset.import")
        assert cli_entry.params == gui_entry.params and cli_entry.examiner == gui_entry.examiner == "DC Test"
        assert {k: v for k, v in gui_entry.result.items() if k not in drop} == \
            {k: v for k, v in cli_entry.result.items() if k not in drop}
    finally:
        cli_case.close()

    # Shown as badges and as a filter, as before: the gallery's hash-set filter shows exactly the matches.
    rows = {r["id"]: r for r in browse.item_rows(case.ctx, sorted(expected))}
    assert {i: r["hash_status"] for i, r in rows.items()} == {
        i: {0: "non-pertinent", 1: "known-bad", 2: "known-bad", 3: "categorised"}[c] for i, c in expected.items()}
    filters = window.gallery.filters
    filters.others.setChecked(True)
    with qtbot.waitSignal(window.gallery_refreshed, timeout=10_000):
        filters.hashset.setCurrentIndex(filters.hashset.findData(True))
    assert sorted(window.model.ids()) == sorted(expected)
    model = window.model  # what the gallery's badges are drawn from
    assert {i: model.row_data(model.row_of(i))["hash_status"] for i in expected} == \
        {i: r["hash_status"] for i, r in rows.items()}

    # The list shows the set with its counts.
    with qtbot.waitSignal(window.hashsets.sets_ready, timeout=10_000):
        sets_dlg: HashSetsDialog = window.show_hash_sets()
    cell = {COLUMNS[c]: sets_dlg.table.item(0, c).text() for c in range(len(COLUMNS))}
    assert (cell["Name"], cell["Format"], cell["Default kind"], cell["Entries"], cell["Rejected"],
            cell["Matched items"]) == ("VIC", "vics-2.0", "known-bad", "6", "0", "5")
    assert cell["By status"] == "1 categorised, 4 known-bad, 1 non-pertinent"
    assert cell["Category handling"].startswith("each entry's own VICS category") and \
        cell["Category handling"].endswith("entries without one: known-bad, category 2 given to matching items")
    assert not sets_dlg.empty.isVisible()

    # Removed from the list (after the examiner confirms): audited, the list and the gallery follow.
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    sets_dlg.table.selectRow(0)
    with qtbot.waitSignal(window.hashsets.sets_ready, timeout=10_000) as got:
        sets_dlg.remove_selected()
    assert got.args == [[], []] and sets_dlg.table.rowCount() == 0 and sets_dlg.empty.isVisible()
    assert case.audit_entries("hashset.remove")[-1].result["matched_items"] == 5
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=10_000)  # the hash-set filter now shows nothing


def test_cancel_rolls_the_import_back(window, case_dir: Path, tmp_path: Path, qtbot) -> None:
    big = tmp_path / "big.md5"
    with open(big, "w") as fh:  # large enough that the import is still running when Cancel is pressed
        fh.writelines(hashlib.md5(str(n).encode()).hexdigest() + "\n" for n in range(400_000))
    with qtbot.waitSignal(window.gallery_refreshed, timeout=10_000):
        window.open_case(case_dir, examiner="DC Test")
    dlg: HashSetImportDialog = window.import_hash_set()
    dlg.set_file(str(big))
    assert dlg.name.text() == "big" and dlg.format_label.text().startswith("hash list")
    task = dlg.start()
    qtbot.waitUntil(lambda: dlg.bar.maximum() == 1000, timeout=30_000)  # the first progress report arrived
    assert dlg.running
    with qtbot.waitSignal(task.cancelled, timeout=30_000):
        dlg.cancel_button.click()
    assert task.result is None and task.error is None
    assert dlg.message.text().startswith("Import cancelled: nothing of the set was kept")
    assert dlg.import_button.isEnabled() and not dlg.bar.isVisible()
    case = window.case
    assert case.hashsets.sets() == [] and case.hashsets.unfinished() == []
    entry = case.audit_entries("hashset.import")[-1]
    assert entry.result["cancelled"] is True and entry.params["name"] == "big"
    with qtbot.waitSignal(window.hashsets.sets_ready, timeout=10_000):
        sets_dlg: HashSetsDialog = window.show_hash_sets()
    assert sets_dlg.empty.isVisible() and sets_dlg.table.rowCount() == 0 and not sets_dlg.remove_button.isEnabled()
    assert not sets_dlg.unfinished.isVisible()
    dlg.cancel_button.click()  # not running: Cancel now closes the dialog
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=5_000)

    # An import killed by another process (kill -9 of a CLI import) is named as not imported.
    proc = subprocess.Popen([sys.executable, "-m", "forensics.cli", "hashsets", "import", str(case_dir), str(big),
                             "--name", "killed"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while case.store.scalar("SELECT COUNT(*) FROM hash_set_entries") < 50_000:  # its first batch is committed
        assert proc.poll() is None and time.monotonic() < deadline, "the import ended before it could be killed"
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    with qtbot.waitSignal(window.hashsets.sets_ready, timeout=10_000):
        window.hashsets.refresh()
    assert sets_dlg.table.rowCount() == 0 and sets_dlg.unfinished.isVisible()
    assert sets_dlg.unfinished.text().startswith("Not imported: killed (an import that did not finish, ")
