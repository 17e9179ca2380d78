"""Examiner reports (HTML, PDF, CSV) for court: selection, gathering, rendering, integrity."""
