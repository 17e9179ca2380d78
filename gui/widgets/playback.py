"""Playing a video hit: from a little before the track starts to its end, the face box
drawn on every frame, a strip of the track's best faces, frame stepping.

Frames come decoded from the core (`case.faces.playback`), in the background: the GUI
never opens evidence itself. Qt Multimedia is not used because the box must be drawn
on the very frames the examiner steps through, and its FFmpeg backend is not present
on every analysis machine (offscreen and headless ones among them).
"""
from __future__ import annotations

from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PyQt6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QPushButton, QSlider, QToolButton, QVBoxLayout,
                             QWidget)

from forensics.case import Case
from gui.tasks import TaskError, TaskRunner

STRIP_SIZE = 72


def frame_pixmap(frame) -> QPixmap:
    """A played frame as a pixmap with its face box: solid green where the face was
    detected, dashed amber where the box is interpolated between detections."""
    h, w = frame.image.shape[:2]
    img = QImage(frame.image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    if frame.box is not None:
        top, right, bottom, left = frame.box
        p = QPainter(img)
        pen = QPen(QColor("#00e676") if frame.detected else QColor("#ffb300"), max(2, w // 400))
        if not frame.detected:
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawRect(left, top, right - left, bottom - top)
        p.end()
    return QPixmap.fromImage(img)


class PlaybackDialog(QDialog):
    """Plays one video track (a face search hit) and lets the examiner step through it."""

    loaded = pyqtSignal(int)  # number of frames
    frame_shown = pyqtSignal(int)  # position

    def __init__(self, case: Case, tasks: TaskRunner, track_id: int, lead: float = 1.0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.case = case
        self.track_id = track_id
        self.playback = None
        self.position = 0
        self.setWindowTitle(f"Video hit: track {track_id}")
        self.view = QLabel("Decoding the video…")
        self.view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.view.setMinimumSize(480, 270)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(self.show_frame)
        self.time_label = QLabel("")
        self.back = QToolButton(text="◀|")
        self.back.setToolTip("Previous frame")
        self.back.clicked.connect(lambda: self.step(-1))
        self.play_button = QPushButton("▶ Play")
        self.play_button.clicked.connect(self.toggle)
        self.forward = QToolButton(text="|▶")
        self.forward.setToolTip("Next frame")
        self.forward.clicked.connect(lambda: self.step(1))
        controls = QHBoxLayout()
        for wdg in (self.back, self.play_button, self.forward):
            controls.addWidget(wdg)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        self.strip = QHBoxLayout()
        self.strip.addWidget(QLabel("Best faces:"))
        self.strip.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view, 1)
        lay.addLayout(controls)
        lay.addLayout(self.strip)
        self.timer = QTimer(self)
        self.timer.timeout.connect(lambda: self.step(1, stop_at_end=True))
        tasks.run("Load video hit", lambda t: case.faces.playback(track_id, lead=lead), writer=False,
                  on_done=self._loaded, on_error=self._failed, owner=self)

    def _failed(self, err: TaskError) -> None:
        self.view.setText(f"⚠ {err.message}")

    def _loaded(self, pb) -> None:
        self.playback = pb
        self.slider.setRange(0, max(0, len(pb.frames) - 1))
        self.timer.setInterval(max(10, round(1000 / (pb.fps or 25))))
        for f in pb.best_faces:
            b = QToolButton()
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            b.setText(f"{f['time']:.1f} s")
            try:
                b.setIcon(QPixmap(str(self.case.faces.face_thumb_path(f["face_id"]))).scaled(
                    STRIP_SIZE, STRIP_SIZE, Qt.AspectRatioMode.KeepAspectRatio))
                b.setIconSize(b.icon().availableSizes()[0] if b.icon().availableSizes() else b.iconSize())
            except Exception:  # noqa: BLE001 - a missing thumbnail only loses the picture
                pass
            b.clicked.connect(lambda _=False, t=f["time"]: self.seek_time(t))
            self.strip.insertWidget(self.strip.count() - 1, b)
        if not pb.frames:
            self.view.setText("No frame of this span could be decoded")
        else:
            self.seek_time(pb.start)  # open on the first detection; the lead-in is a step back
        self.loaded.emit(len(pb.frames))

    def seek_time(self, t: float) -> None:
        if not self.playback or not self.playback.frames:
            return
        best = min(range(len(self.playback.frames)), key=lambda i: abs(self.playback.frames[i].time - t))
        self.slider.setValue(best)
        self.show_frame(best)

    def step(self, delta: int, stop_at_end: bool = False) -> None:
        if not self.playback or not self.playback.frames:
            return
        n = len(self.playback.frames)
        pos = self.position + delta
        if pos >= n and stop_at_end:
            self.toggle(False)
            return
        self.slider.setValue(max(0, min(n - 1, pos)))

    def toggle(self, play: bool | None = None) -> None:
        play = not self.timer.isActive() if play is None else play
        if play and self.playback and self.position >= len(self.playback.frames) - 1:
            self.slider.setValue(0)  # playing from the end starts over, lead-in included
        self.timer.start() if play else self.timer.stop()
        self.play_button.setText("❚❚ Pause" if play else "▶ Play")

    def show_frame(self, pos: int) -> None:
        if not self.playback or not 0 <= pos < len(self.playback.frames):
            return
        self.position = pos
        f = self.playback.frames[pos]
        pm = frame_pixmap(f)
        self.view.setPixmap(pm.scaled(self.view.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation))
        pb = self.playback
        mark = "face" if f.detected else ("face (interpolated)" if f.box else "")
        self.time_label.setText(f"{f.time:.2f} s  [{pb.start:.1f}–{pb.end:.1f} s] {mark}")
        self.frame_shown.emit(pos)
