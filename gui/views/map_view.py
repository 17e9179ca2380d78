"""The map tab: where the gallery's items were taken, offline.

Positions of the items the gallery's filters select (the map's own lasso aside) are drawn
over the base layer, which the view names: the shipped country outlines, or the user's
MBTiles file. A click selects the items of a marker in the gallery; a lasso (the Lasso
button, or Shift+drag) filters the gallery to the positions inside it."""
from __future__ import annotations

from dataclasses import replace

from PyQt6.QtCore import QSettings, pyqtSignal
from PyQt6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget

from forensics.browse import ItemFilter
from forensics.case import Case
from forensics.model import CaseError
from forensics.places.mbtiles import MBTiles
from gui.tasks import TaskError, TaskRunner
from gui.widgets.map_canvas import MapCanvas

SETTING = "map/mbtiles"


def _warm_outlines() -> int:
    from forensics.places import mapgrid

    for level in range(mapgrid.MAX_OUTLINE_LEVEL + 1):
        mapgrid.outlines(level)
    return mapgrid.MAX_OUTLINE_LEVEL + 1


class MapView(QWidget):
    items_selected = pyqtSignal(list)  # item ids of a clicked marker
    area_changed = pyqtSignal(object)  # (lon, lat) vertices of the lasso, or None when cleared
    places_updated = pyqtSignal()
    loaded = pyqtSignal()

    def __init__(self, case: Case, tasks: TaskRunner, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.case, self.tasks, self.settings = case, tasks, settings
        self.canvas = MapCanvas()
        self.filter = ItemFilter()  # the gallery's, lasso included (what a KML export writes)
        self._shown_filter: ItemFilter | None = None  # what the markers were loaded for
        self._first = True
        self.pending = 0
        bar = QHBoxLayout()
        buttons = {}
        for name, text, slot in (("fit", "Fit all", self.canvas.fit),
                                 ("zoom_in", "+", lambda: self._zoom(1)), ("zoom_out", "−", lambda: self._zoom(-1)),
                                 ("lasso", "Lasso", None), ("clear_area", "Clear area", self.clear_area),
                                 ("name_places", "Name places", self.name_places),
                                 ("add_mbtiles", "Add MBTiles base map…", self.choose_mbtiles),
                                 ("remove_mbtiles", "Remove MBTiles", lambda: self.set_mbtiles(None)),
                                 ("export_kml", "Export KML…", self.export_kml)):
            b = QPushButton(text)
            b.setObjectName(name)
            if slot is not None:
                b.clicked.connect(slot)
            bar.addWidget(b)
            buttons[name] = b
        bar.addStretch(1)
        self.buttons = buttons
        buttons["lasso"].setCheckable(True)
        buttons["lasso"].setToolTip("Draw around positions to filter the gallery to them (or Shift+drag)")
        buttons["lasso"].toggled.connect(lambda on: setattr(self.canvas, "lasso_mode", on))
        buttons["name_places"].setToolTip("Look up place names and time zones of positions that have none yet (offline)")
        self.base_label = QLabel()
        self.base_label.setObjectName("base_layer")
        self.base_label.setWordWrap(True)
        self.base_label.setStyleSheet("color: #444")
        self.status = QLabel()
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.base_label)
        lay.addWidget(self.status)
        self.canvas.clicked_items.connect(self._clicked)
        self.canvas.lasso_drawn.connect(self._lasso)
        self.canvas.view_changed.connect(self._update_labels)
        saved = str(self.settings.value(SETTING, "") or "")
        if saved:
            try:
                self.canvas.tiles.set_mbtiles(MBTiles(saved))
            except CaseError:
                self.settings.remove(SETTING)  # the file moved or went: back to the outlines
        self._update_labels()
        self._warmed = False

    # -- data -------------------------------------------------------------------------
    def set_filter(self, filt: ItemFilter, reload: bool = False) -> None:
        """Follow the gallery's filters (`reload`: the items changed, e.g. an ingest ended);
        positions load now if the map is on screen, else when it is next shown."""
        self.filter = filt
        if reload:
            self._shown_filter = None
        if self.isVisible():
            self.load()

    def showEvent(self, e) -> None:  # noqa: N802
        super().showEvent(e)
        if not self._warmed:
            # Country outlines at every level of detail, prepared off the GUI thread once the
            # map is first shown (not while the gallery opens); until a level is ready the
            # tiles use a coarser one.
            self._warmed = True
            self.tasks.run("Map outlines", lambda t: _warm_outlines(), writer=False,
                           on_done=lambda r: self.canvas.update(), owner=self)
        self.load()

    def load(self, force: bool = False) -> None:
        markers = replace(self.filter, area=None)  # the lasso filters the gallery, not the map
        if markers == self._shown_filter and not force:
            return
        self._shown_filter = markers
        case = self.case
        self.tasks.run("Map positions", lambda t: (case.places.positions(markers), case.places.pending()),
                       writer=False, on_done=self._loaded, on_error=self._failed, owner=self)

    def _loaded(self, result) -> None:
        (ids, lat, lon), self.pending = result
        self.canvas.set_points(ids, lat, lon)
        if self._first:
            self._first = False
            self.canvas.fit()
        self._update_labels()
        self.loaded.emit()

    def _failed(self, err: TaskError) -> None:
        self._shown_filter = None
        from gui.app import error_box

        error_box(self, "The map could not load the positions", err)

    # -- interaction ----------------------------------------------------------------------
    def _zoom(self, steps: int) -> None:
        from PyQt6.QtCore import QPointF

        self.canvas.zoom_at(QPointF(self.canvas.width() / 2, self.canvas.height() / 2), steps)

    def _clicked(self, ids: list[int]) -> None:
        self.items_selected.emit(ids)
        self._update_labels(f"{len(ids):,} item(s) selected at this marker" if ids else "")

    def _lasso(self, vertices: list[tuple[float, float]]) -> None:
        self.buttons["lasso"].setChecked(False)
        self.area_changed.emit(tuple(vertices))

    def clear_area(self) -> None:
        self.canvas.clear_area()
        self.area_changed.emit(None)

    def name_places(self) -> None:
        case = self.case
        self.tasks.run("Name places", lambda t: case.places.update(progress=t.report, cancel=t.cancel),
                       on_done=lambda r: (self.load(force=True), self.places_updated.emit()),
                       on_error=self._failed, owner=self)

    # -- base layer -------------------------------------------------------------------------
    def choose_mbtiles(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add an MBTiles base map", "", "MBTiles (*.mbtiles);;All files (*)")
        if path:
            self.set_mbtiles(path)

    def set_mbtiles(self, path: str | None) -> bool:
        """Use the MBTiles file at `path` as the base map (None: the country outlines)."""
        if path is None:
            self.canvas.tiles.set_mbtiles(None)
            self.settings.remove(SETTING)
        else:
            try:
                mb = MBTiles(path)
            except CaseError as exc:
                QMessageBox.warning(self, "MBTiles", str(exc))
                return False
            self.canvas.tiles.set_mbtiles(mb)
            self.settings.setValue(SETTING, str(mb.path))
        self.canvas.update()
        self._update_labels()
        return True

    def _update_labels(self, note: str = "") -> None:
        c = self.canvas
        self.base_label.setText(c.tiles.description(c.zoom))
        self.buttons["remove_mbtiles"].setEnabled(c.tiles.mbtiles is not None)
        self.buttons["name_places"].setVisible(self.pending > 0)
        parts = [f"{len(c.ids):,} positions", f"{len(c.clusters()):,} markers at zoom {c.zoom}"]
        if self.pending:
            parts.append(f"{self.pending:,} positions without a place name yet")
        if c.area:
            parts.append("gallery filtered to the lasso")
        if note:
            parts.append(note)
        self.status.setText(" · ".join(parts))

    # -- export ----------------------------------------------------------------------------
    def export_kml(self, path: str | None = None) -> None:
        """Write the positions the gallery's filters select (the lasso included) as KML."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export positions as KML", "positions.kml", "KML (*.kml)")
            if not path:
                return
        case, filt = self.case, self.filter
        self.tasks.run("Export KML", lambda t: case.export_kml(path, filt),
                       on_done=lambda r: self._update_labels(f"wrote {r['placemarks']:,} placemarks to {r['out']}"),
                       on_error=self._failed, owner=self)
