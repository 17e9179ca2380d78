"""Before Qt starts on an X11 desktop: can its xcb platform plugin load?

The PyQt6 wheel ships Qt but not the X11 libraries its xcb plugin links against; on a
fresh Debian or Ubuntu desktop some are missing (libxcb-cursor0, libxcb-icccm4 and
libxcb-keysyms1 most often) and Qt only says "could not load the Qt platform plugin
xcb" and aborts. This module checks those libraries one by one (the list is the plugin's
and libQt6XcbQpa's `ldd` in the PyQt6 6.x wheel) and says which are missing and the
apt-get command that installs them. It imports no Qt, so it runs before QApplication.
"""
from __future__ import annotations

import ctypes
import importlib.util
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

# soname -> Debian/Ubuntu package. The X11/xcb libraries first: those are the ones a
# desktop install may lack; the GL, font and GLib ones are on any desktop but are listed
# so a minimal system gets the whole command.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}
EXIT_MISSING_LIBRARIES = 3


def wants_xcb(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt will try the xcb plugin first: QT_QPA_PLATFORM says xcb (possibly with
    options, or first of a ';' list), or it is unset on Linux with an X display and no
    Wayland one (Qt 6 prefers Wayland where there is one)."""
    value = env.get("QT_QPA_PLATFORM", "").strip()
    if value:
        return value.split(";")[0].split(":")[0].strip() == "xcb"
    return platform.startswith("linux") and bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def missing_libraries(libraries: Mapping[str, str] = XCB_LIBRARIES,
                      load: Callable[[str], object] = ctypes.CDLL) -> list[str]:
    """The sonames among `libraries` that the dynamic loader cannot load (by `load`,
    ctypes.CDLL: the same search the plugin's own loading does)."""
    missing = []
    for soname in libraries:
        try:
            load(soname)
        except OSError:
            missing.append(soname)
    return missing


def xcb_plugin() -> Path | None:
    """The xcb platform plugin inside the installed PyQt6 wheel, if it is there."""
    spec = importlib.util.find_spec("PyQt6")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "Qt6" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.is_file() else None


def plugin_load_error(plugin: Path | None, load: Callable[[str], object] = ctypes.CDLL) -> str | None:
    """The loader's message if the plugin itself does not load (a dependency this table
    does not know, from a newer Qt), else None."""
    if plugin is None:
        return None
    try:
        load(str(plugin))
    except OSError as exc:
        return str(exc)
    return None


def message(missing: list[str], libraries: Mapping[str, str] = XCB_LIBRARIES, other_error: str | None = None) -> str:
    """What to tell the user: the missing libraries, their packages, the install command."""
    lines = ["forensics-gui: Qt's X11 (xcb) platform plugin cannot load on this desktop."]
    if missing:
        packages = list(dict.fromkeys(libraries[s] for s in missing))
        lines.append("These system libraries are missing:")
        lines += [f"  {s}  (Debian/Ubuntu package {libraries[s]})" for s in missing]
        lines += ["Install them with:", f"  sudo apt-get install {' '.join(packages)}",
                  "(other distributions: install the packages that provide these libraries)"]
    if other_error:
        lines += [f"Loading the plugin fails with: {other_error}",
                  "Install the package that provides the library it names (Debian/Ubuntu: apt-file search NAME)."]
    lines.append("Or run on Wayland (QT_QPA_PLATFORM=wayland) if this desktop has it.")
    return "\n".join(lines)


def check(env: Mapping[str, str], libraries: Mapping[str, str] = XCB_LIBRARIES,
          load: Callable[[str], object] = ctypes.CDLL, plugin: Path | None = None) -> str | None:
    """None when Qt can start here (or will not use xcb), else the message to print."""
    if not wants_xcb(env):
        return None
    missing = missing_libraries(libraries, load)
    if missing:
        return message(missing, libraries)
    error = plugin_load_error(plugin if plugin is not None else xcb_plugin(), load)
    return message([], libraries, error) if error else None
