"""The gallery's queries: the filtered, sorted id list, the filter choices, and the items an
ingest just committed, each run off the GUI thread; the newest id-list request wins.

A new list comes in two parts: the first page (a LIMIT query, milliseconds) so the first
screenful is painted at once, then the whole list, which the model appends to the page."""
from __future__ import annotations

from dataclasses import replace

from PyQt6.QtCore import pyqtSignal

from forensics import browse
from forensics.browse import ItemFilter
from gui.controllers.latest import LatestQueries


# Ids in the first page: more than a screenful of the smallest cells on a large monitor.
FIRST_PAGE = 1000


class GalleryController(LatestQueries):
    page_ready = pyqtSignal(list)  # the first FIRST_PAGE ids of a longer list, in display order
    ids_ready = pyqtSignal(list, object)  # ids in display order, what to keep selected (or None)
    appended = pyqtSignal(list)  # newly committed ids that pass the current filter, in order
    facets_ready = pyqtSignal(dict)
    failed = pyqtSignal(object)  # TaskError

    def query(self, filt: ItemFilter, sort: str, descending: bool, keep=None) -> None:
        """The list for `filt`; with nothing to keep (a new filter, a case just opened) a
        longer list's first page comes first (`page_ready`), then the whole (`ids_ready`)."""
        if self.case is None:
            return
        self._serial += 1
        serial, ctx = self._serial, self.case.ctx

        def ids(task) -> list[int]:
            if keep is None:
                page = browse.item_ids(ctx, filt, sort, descending, limit=FIRST_PAGE)
                if len(page) < FIRST_PAGE:
                    return page  # that is all of it
                task.report(page)
            return browse.item_ids(ctx, filt, sort, descending)
        self.tasks.run("Filter", ids, writer=False,
                       on_progress=lambda page: serial == self._serial and self.page_ready.emit(page),
                       on_done=lambda ids: serial == self._serial and self.ids_ready.emit(ids, keep),
                       on_error=self.failed.emit, owner=self)

    def new_items(self, ids: list[int], filt: ItemFilter, sort: str, descending: bool) -> None:
        """Which of `ids` (just committed) the current filter shows, to append them."""
        if self.case is None or not ids:
            return
        serial, ctx, wanted = self._serial, self.case.ctx, tuple(ids)
        self.tasks.run("New items", lambda t: browse.item_ids(ctx, replace(filt, ids=wanted), sort, descending),
                       writer=False, on_done=lambda new: serial == self._serial and self.appended.emit(new),
                       on_error=self.failed.emit, owner=self)

    def facets(self) -> None:
        if self.case is None:
            return
        ctx = self.case.ctx
        self.tasks.run("Facets", lambda t: browse.facets(ctx), writer=False, on_done=self.facets_ready.emit,
                       on_error=self.failed.emit, owner=self)

    def is_bookmarked(self, item_id: int) -> bool:
        rows = browse.item_rows(self.case.ctx, [item_id]) if self.case is not None else []
        return bool(rows and rows[0]["bookmarked"])
