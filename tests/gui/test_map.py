"""The map tab on the sample case: clicking a point selects its items, clusters count
their items, a lasso filters the gallery, the place filters, KML export, and an MBTiles
file as the named base layer."""
from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PyQt6.QtCore import QBuffer, QIODevice, QPoint, QPointF, Qt
from PyQt6.QtGui import QColor, QImage

from forensics.places import mapgrid

TRIP_PARIS = ("paris_eiffel_tower.jpg", "paris_louvre.jpg", "paris_cafe.jpg")


@pytest.fixture
def map_tab(opened, qtbot):
    """The sample case's places named, and the map tab shown with its positions loaded."""
    opened.case.places.update()
    view = opened.map_view
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        opened.show_tab(view)
    return view


def _screen_of(canvas, lat: float, lon: float) -> QPoint:
    x, y = mapgrid.project(np.array([lat]), np.array([lon]))
    return canvas.to_screen(float(x[0]), float(y[0])).toPoint()


def _gallery_ids(window) -> list[int]:
    return [window.model.id_at(r) for r in range(window.model.rowCount())]


def test_clicking_a_map_point_selects_its_items(opened, map_tab, ids, qtbot) -> None:
    canvas = map_tab.canvas
    case = opened.case
    tokyo = case.item(ids["tokyo_tower.jpg"])
    canvas.set_view(*[float(v[0]) for v in mapgrid.project(np.array([tokyo["gps_lat"]]), np.array([tokyo["gps_lon"]]))],
                    zoom=16)  # close enough for Tokyo Tower to be a marker of its own
    with qtbot.waitSignal(map_tab.items_selected, timeout=5_000) as sig:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=_screen_of(canvas, tokyo["gps_lat"], tokyo["gps_lon"]))
    assert sig.args[0] == [ids["tokyo_tower.jpg"]]
    assert opened.gallery.selected_ids() == [ids["tokyo_tower.jpg"]]
    assert "1 selected" in opened.selection_label.text()
    # Zoomed out, Paris's three photos are one marker counting three; a click selects all three.
    paris = case.item(ids["paris_louvre.jpg"])
    canvas.set_view(0.5, 0.4, zoom=3)
    c = canvas.clusters()
    at = canvas.cluster_at(QPointF(_screen_of(canvas, paris["gps_lat"], paris["gps_lon"])))
    assert at is not None and int(c.counts[at]) == 3
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=_screen_of(canvas, paris["gps_lat"], paris["gps_lon"]))
    assert sorted(opened.gallery.selected_ids()) == sorted(ids[n] for n in TRIP_PARIS)
    # Empty ground (mid-Pacific) selects nothing.
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=_screen_of(canvas, -5.0, -140.0))
    assert not opened.gallery.list.selectionModel().selectedIndexes()
    assert "markers at zoom 3" in map_tab.status.text()


def test_lasso_filters_the_gallery(opened, map_tab, ids, qtbot) -> None:
    canvas = map_tab.canvas
    canvas.set_view(*[float(v[0]) for v in mapgrid.project(np.array([48.856]), np.array([2.32]))], zoom=11)
    # A lasso around central Paris, drawn with the Lasso button and the mouse.
    map_tab.buttons["lasso"].click()
    ring = [_screen_of(canvas, 48.856 + 0.03 * np.sin(a), 2.32 + 0.06 * np.cos(a)) for a in np.linspace(0, 2 * np.pi, 24)]
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=ring[0])
    for p in ring[1:]:
        qtbot.mouseMove(canvas, p)
    with qtbot.waitSignal(opened.gallery_refreshed, timeout=10_000):
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=ring[-1])
    assert sorted(_gallery_ids(opened)) == sorted(ids[n] for n in TRIP_PARIS)
    assert not map_tab.buttons["lasso"].isChecked()
    assert "lasso" in opened.gallery.filters.area_label.text()
    assert len(canvas.ids) > 3  # the map still shows every position, to lasso again
    with qtbot.waitSignal(opened.gallery_refreshed, timeout=10_000):
        map_tab.buttons["clear_area"].click()
    assert len(_gallery_ids(opened)) > 10 and canvas.area is None
    # Cleared from the filter panel instead, the map's drawing goes too.
    canvas.finish_lasso(ring)
    qtbot.waitUntil(lambda: sorted(_gallery_ids(opened)) == sorted(ids[n] for n in TRIP_PARIS), timeout=10_000)
    with qtbot.waitSignal(opened.gallery_refreshed, timeout=10_000):
        opened.gallery.filters.area_label.linkActivated.emit("clear")
    assert canvas.area is None and opened.gallery.filters.area is None and len(_gallery_ids(opened)) > 10


def test_country_and_place_filters_and_item_view(opened, map_tab, ids, qtbot) -> None:
    from qt_helpers import show_item

    with qtbot.waitSignal(opened.queries.facets_ready, timeout=10_000):
        opened.refresh_facets()
    f = opened.gallery.filters
    with qtbot.waitSignal(opened.gallery_refreshed, timeout=10_000):
        f.country.setCurrentIndex(f.country.findData("JP"))
    assert sorted(_gallery_ids(opened)) == sorted([ids["tokyo_shibuya.jpg"], ids["tokyo_tower.jpg"]])
    with qtbot.waitSignal(opened.gallery_refreshed, timeout=10_000):
        f.country.setCurrentIndex(0)
    with qtbot.waitSignal(opened.gallery_refreshed, timeout=10_000):
        f.place.setCurrentIndex(f.place.findData("Sydney"))
    assert _gallery_ids(opened) == [ids["sydney_opera_house.jpg"]]
    from gui.views.item_view import metadata_html

    show_item(opened, qtbot, ids["tokyo_tower.jpg"])
    html = metadata_html(opened.item_view.detail)
    assert "Tokyo, Japan (JP); nearest place Shibakōen, 0.2 km · Asia/Tokyo" in html
    # The camera wrote no offset: the view says what the position's zone implies, as an inference.
    assert "UTC+09:00 if the camera clock was set to the time zone of the position" in html


def test_export_kml_from_the_map(opened, map_tab, tmp_path, qtbot) -> None:
    out = tmp_path / "trip.kml"
    map_tab.export_kml(str(out))
    qtbot.waitUntil(lambda: "placemarks" in map_tab.status.text(), timeout=10_000)
    names = [m.find("{http://www.opengis.net/kml/2.2}name").text
             for m in ET.parse(out).getroot().iter("{http://www.opengis.net/kml/2.2}Placemark")]
    assert set(TRIP_PARIS) <= set(names) and "gps_no_fix.jpg" not in names
    assert opened.case.audit_entries("export.kml")


def _png(color: str) -> bytes:
    img = QImage(256, 256, QImage.Format.Format_RGB32)
    img.fill(QColor(color))
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    return bytes(buf.data())


def _tiny_mbtiles(path) -> None:
    """Zoom 0-1: the north-west tile of zoom 1 red, the rest blue (rows stored TMS, south first)."""
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE metadata (name TEXT, value TEXT);"
                       "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);")
    conn.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", "Test streets"), ("format", "png"),
                                                            ("attribution", "made in the test")])
    conn.execute("INSERT INTO tiles VALUES (0, 0, 0, ?)", (_png("#0000ff"),))
    for x in (0, 1):
        for tms_row in (0, 1):
            north_first_y = 1 - tms_row
            color = "#ff0000" if (x, north_first_y) == (0, 0) else "#0000ff"
            conn.execute("INSERT INTO tiles VALUES (1, ?, ?, ?)", (x, tms_row, _png(color)))
    conn.commit()
    conn.close()


def test_mbtiles_file_is_the_named_base_layer(opened, map_tab, tmp_path, qtbot) -> None:
    canvas = map_tab.canvas
    assert "Natural Earth" in map_tab.base_label.text()  # the shipped outlines by default
    path = tmp_path / "streets.mbtiles"
    _tiny_mbtiles(path)
    assert map_tab.set_mbtiles(str(path))
    canvas.set_view(0.5, 0.5, zoom=1)
    label = map_tab.base_label.text()
    assert "MBTiles 'Test streets'" in label and "streets.mbtiles" in label and "zoom 0-1" in label

    def settled():
        qtbot.waitUntil(lambda: canvas.grab() is not None and canvas.tiles_waiting == 0, timeout=10_000)
        return canvas.grab().toImage()

    img = settled()

    def pixel(world_x: float, world_y: float) -> QColor:
        return img.pixelColor(canvas.to_screen(world_x, world_y).toPoint())

    assert pixel(0.1, 0.1).red() > 200 and pixel(0.1, 0.1).blue() < 50  # north-west: red (TMS row flipped)
    assert pixel(0.9, 0.9).blue() > 200 and pixel(0.9, 0.1).blue() > 200
    # Past the file's last zoom level its deepest tiles are enlarged, and the UI says so.
    canvas.set_view(0.1, 0.1, zoom=4)
    assert settled().pixelColor(canvas.width() // 2, canvas.height() // 2).red() > 200
    assert "enlarged from zoom 1" in map_tab.base_label.text()
    # The choice is remembered; removing it brings the outlines back.
    assert opened.settings.value("map/mbtiles") == str(path)
    map_tab.buttons["remove_mbtiles"].click()
    assert "MBTiles" not in map_tab.base_label.text() and "Natural Earth" in map_tab.base_label.text()


def test_a_file_that_is_not_mbtiles_is_refused_clearly(opened, map_tab, tmp_path, monkeypatch) -> None:
    from PyQt6.QtWidgets import QMessageBox

    bad = tmp_path / "notes.mbtiles"
    bad.write_text("not a database")
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    assert not map_tab.set_mbtiles(str(bad))
    assert shown and "not an MBTiles file" in shown[0]
    assert "Natural Earth" in map_tab.base_label.text()
