"""`forensics-gui [CASE_DIR]`: start the desktop workbench.

A global exception hook turns any error that escapes a slot into a readable message box
(with the traceback under "Show details"), so the window never silently dies or freezes.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import traceback

from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtWidgets import QApplication, QMessageBox, QWidget

from gui.tasks import TaskError, readable


def error_box(parent: QWidget | None, title: str, exc: BaseException) -> QMessageBox:
    """Show an error as a sentence, with the technical details folded away."""
    if isinstance(exc, TaskError):
        text, details = exc.message, exc.details
    else:
        text = readable(exc)
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.show()  # not exec(): an error must never block a test or a background signal
    return box


class _ErrorRelay(QObject):
    """Carries errors raised on any thread to a message box on the GUI thread."""

    raised = pyqtSignal(object)

    def __init__(self) -> None:
        super().__init__()
        self.last: BaseException | None = None
        self.raised.connect(self._show)

    def _show(self, exc: BaseException) -> None:
        self.last = exc
        app = QApplication.instance()
        parent = app.activeWindow() if app else None
        error_box(parent, "Unexpected error", exc)


_relay: _ErrorRelay | None = None


def install_exception_hook() -> _ErrorRelay:
    """Route uncaught exceptions (GUI thread and other threads) to a readable message."""
    global _relay
    if _relay is None:
        _relay = _ErrorRelay()

    def hook(exc_type, exc, tb) -> None:
        traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
        if exc is not None and not isinstance(exc, KeyboardInterrupt):
            _relay.raised.emit(exc.with_traceback(tb))

    sys.excepthook = hook
    threading.excepthook = lambda args: hook(args.exc_type, args.exc_value, args.exc_traceback)
    return _relay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="forensics-gui", description="Forensics desktop workbench")
    parser.add_argument("case_dir", nargs="?", help="case folder to open")
    parser.add_argument("--examiner", help="who is acting (default: ask when the case opens)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if QApplication.instance() is None:
        # Qt aborts with a bare "could not load the Qt platform plugin" when an X11 library
        # is missing; say which ones and how to install them instead.
        from gui.platform_check import EXIT_MISSING_LIBRARIES, check

        problem = check(os.environ)
        if problem:
            print(problem, file=sys.stderr)
            return EXIT_MISSING_LIBRARIES
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Forensics workbench")
    app.setOrganizationName("forensics")
    install_exception_hook()
    from gui.views.main_window import MainWindow

    win = MainWindow()
    win.show()
    if args.case_dir:
        win.open_case(args.case_dir, examiner=args.examiner)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
