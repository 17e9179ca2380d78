"""Part of the desktop workbench (PyQt6)."""
