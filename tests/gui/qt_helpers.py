"""Small helpers shared by the GUI tests."""
from __future__ import annotations


def show_item(window, qtbot, item_id: int) -> None:
    """Open an item in the item view and wait until its preview has loaded."""
    with qtbot.waitSignal(window.item_view.loaded, timeout=10_000):
        window.show_item(item_id)
