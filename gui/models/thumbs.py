"""Thumbnails loaded lazily in a thread pool and kept in a byte-bounded LRU cache.

Views ask `get(key, path)` while painting; a miss returns None at once and queues a load.
Loads are served newest-first (the cells on screen now), and the queue is bounded, so a
fast scroll through 100,000 items does not leave thousands of stale loads ahead of the
rows the user stopped on. Images are decoded already scaled to the display size with
QImageReader (JPEG decodes at a reduced scale), so painting never rescales.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path

from PyQt6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QRunnable, QSize, QThreadPool, Qt, pyqtSignal
from PyQt6.QtGui import QImage, QImageReader

MAX_PENDING = 512
IDLE_SECONDS = 2.0


def load_scaled(source: str | Path | bytes, size: int) -> QImage | None:
    """Decode an image (a file, or bytes already read) scaled to fit in size x size (None if
    it cannot be read)."""
    if isinstance(source, bytes):
        buf = QBuffer()
        buf.setData(QByteArray(source))
        buf.open(QIODevice.OpenModeFlag.ReadOnly)
        reader = QImageReader(buf)
    else:
        reader = QImageReader(str(source))
    reader.setAutoTransform(True)
    src = reader.size()
    if src.isValid() and (src.width() > size or src.height() > size):
        reader.setScaledSize(src.scaled(QSize(size, size), Qt.AspectRatioMode.KeepAspectRatio))
    img = reader.read()
    if img.isNull():
        return None
    if img.width() > size or img.height() > size:
        img = img.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return img.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)


class _Loader(QRunnable):
    def __init__(self, cache: "ThumbnailCache") -> None:
        super().__init__()
        self.cache = cache
        self.setAutoDelete(True)

    def run(self) -> None:
        self.cache._work()


class ThumbnailCache(QObject):
    """Lazy thumbnail loading for one display size (keys are any hashable, e.g. item ids)."""

    loaded = pyqtSignal(object)  # key
    _delivered = pyqtSignal(object, int, object)  # key, generation, QImage | None (worker -> GUI thread)

    def __init__(self, size: int = 160, budget_bytes: int = 160 << 20, threads: int = 2,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._size = size
        self.budget = budget_bytes
        self._images: OrderedDict[Hashable, QImage] = OrderedDict()
        self._bytes = 0
        self._failed: set[Hashable] = set()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: OrderedDict[Hashable, str] = OrderedDict()  # newest last
        self._requested: set[Hashable] = set()
        self._workers = 0
        self._idle = 0  # workers waiting for a request
        self._generation = 0
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._delivered.connect(self._store)

    # -- GUI thread ----------------------------------------------------------
    @property
    def size(self) -> int:
        return self._size

    def set_size(self, size: int) -> None:
        """Change the display size: cached images are dropped and reload at the new size."""
        if size == self._size:
            return
        self._size = size
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
            self._generation += 1
        self._images.clear()
        self._requested.clear()
        self._failed.clear()
        self._bytes = 0

    def get(self, key: Hashable, path: str | Path | None) -> QImage | None:
        img = self._images.get(key)
        if img is not None:
            self._images.move_to_end(key)
            return img
        if path is None or key in self._failed:
            return None
        self.request(key, path)
        return None

    def request(self, key: Hashable, path: str | Path) -> None:
        with self._lock:
            if key in self._pending:
                self._pending.move_to_end(key)
            elif key not in self._requested:
                self._pending[key] = str(path)
                self._requested.add(key)
                while len(self._pending) > MAX_PENDING:
                    old, _ = self._pending.popitem(last=False)
                    self._requested.discard(old)  # asked again if it comes back on screen
            self._wake.notify()
            # Workers linger briefly when idle (see _work), so a scroll does not pay for
            # starting a pool runnable on every step.
            start = self._workers < self.pool.maxThreadCount() and len(self._pending) > self._idle
            if start:
                self._workers += 1
        if start:
            self.pool.start(_Loader(self))

    def has(self, key: Hashable) -> bool:
        return key in self._images

    def cached_bytes(self) -> int:
        return self._bytes

    def wait(self, msecs: int = -1) -> bool:
        with self._lock:
            self._wake.notify_all()  # idle workers exit at once when nothing is pending
        return self.pool.waitForDone(msecs)

    def _store(self, key: Hashable, generation: int, img: QImage | None) -> None:
        if generation != self._generation:
            return  # loaded for a size no longer shown
        self._requested.discard(key)
        if img is None:
            self._failed.add(key)
            self.loaded.emit(key)
            return
        old = self._images.pop(key, None)
        if old is not None:
            self._bytes -= old.sizeInBytes()
        self._images[key] = img
        self._bytes += img.sizeInBytes()
        while self._bytes > self.budget and len(self._images) > 1:
            _, evicted = self._images.popitem(last=False)
            self._bytes -= evicted.sizeInBytes()
        self.loaded.emit(key)

    # -- worker threads --------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._idle += 1
                    self._wake.wait(IDLE_SECONDS)
                    self._idle -= 1
                if not self._pending:
                    self._workers -= 1
                    return
                key, path = self._pending.popitem(last=True)
                generation, size = self._generation, self._size
            try:
                img = load_scaled(path, size)
            except Exception:  # a broken cache file shows as "no thumbnail", never an error
                img = None
            self._delivered.emit(key, generation, img)
