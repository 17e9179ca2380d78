"""forensics-gui on a desktop without the X11 libraries Qt's xcb plugin needs: it names
the missing libraries and the apt-get command, and exits non-zero before Qt starts.
Runs without a display: the library lookup is the real dynamic loader, given names that
cannot exist."""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

from gui import platform_check as pc

ABSENT = "libforensics-test-absent.so.7"  # no system has it


def test_detection_uses_the_real_loader() -> None:
    libs = {"libc.so.6": "libc6", ABSENT: "forensics-absent1", "libm.so.6": "libc6"}
    assert pc.missing_libraries(libs) == [ABSENT]
    assert pc.missing_libraries({"libc.so.6": "libc6"}) == []


def test_message_names_libraries_packages_and_the_install_command() -> None:
    libs = {**pc.XCB_LIBRARIES}
    present = lambda name: None if name not in ("libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0") \
        else ctypes.CDLL(ABSENT)  # noqa: E731 - the loader's own failure for these three
    text = pc.check({"QT_QPA_PLATFORM": "xcb"}, libs, load=present)
    assert text is not None
    lines = text.splitlines()
    assert "  sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in lines
    assert "  libxcb-icccm.so.4  (Debian/Ubuntu package libxcb-icccm4)" in lines
    assert sum("Debian/Ubuntu package" in ln for ln in lines) == 3
    # Two sonames of one package: the package once in the command.
    both = pc.message(["libglib-2.0.so.0", "libgthread-2.0.so.0"],
                      {"libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0"})
    assert "  sudo apt-get install libglib2.0-0" in both.splitlines()


def test_a_plugin_that_fails_for_another_reason_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "libqxcb.so"
    broken.write_bytes(b"not an ELF file")
    text = pc.check({"QT_QPA_PLATFORM": "xcb"}, {"libc.so.6": "libc6"}, plugin=broken)
    assert text is not None and "Loading the plugin fails with:" in text and str(broken) in text
    assert "sudo apt-get" not in text


def test_which_platforms_are_checked() -> None:
    assert pc.wants_xcb({"QT_QPA_PLATFORM": "xcb"})
    assert pc.wants_xcb({"QT_QPA_PLATFORM": "xcb:nomitshm"}) and pc.wants_xcb({"QT_QPA_PLATFORM": "xcb;wayland"})
    assert not pc.wants_xcb({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"})
    assert not pc.wants_xcb({"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":0"})
    assert pc.wants_xcb({"DISPLAY": ":0"}, platform="linux")
    assert not pc.wants_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, platform="linux")
    assert not pc.wants_xcb({}, platform="linux") and not pc.wants_xcb({"DISPLAY": ":0"}, platform="darwin")
    assert pc.check({"QT_QPA_PLATFORM": "offscreen"}, {ABSENT: "x"}) is None


def test_the_app_exits_with_the_message_before_qt_starts(tmp_path: Path) -> None:
    # A fresh process: QApplication must not exist yet, and Qt must not get to abort.
    code = ("import sys; import gui.platform_check as pc; pc.XCB_LIBRARIES['%s'] = 'forensics-absent1'; "
            "from gui.app import main; sys.exit(main([]))" % ABSENT)
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": ":97", "XDG_CONFIG_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == pc.EXIT_MISSING_LIBRARIES, r.stderr
    assert f"  {ABSENT}  (Debian/Ubuntu package forensics-absent1)" in r.stderr.splitlines()
    assert "sudo apt-get install " in r.stderr and "forensics-absent1" in r.stderr.split("sudo apt-get install ")[1]
    assert "could not load the Qt platform plugin" not in r.stderr and r.stdout == ""
