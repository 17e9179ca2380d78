"""The audit log, read only: every change to and search of the case, with a chain check."""
from __future__ import annotations

import json

from PyQt6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt
from PyQt6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                             QTableView, QVBoxLayout, QWidget)

from forensics.case import Case
from gui.tasks import TaskError, TaskRunner

COLUMNS = ("#", "Time (UTC)", "Examiner", "Action", "Parameters", "Result")


class AuditModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.entries: list = []

    def set_entries(self, entries: list) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        e = self.entries[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            values = (e.seq, e.time_utc.replace("T", " ")[:19], e.examiner, e.action,
                      json.dumps(e.params, ensure_ascii=False), json.dumps(e.result, ensure_ascii=False))
            text = str(values[index.column()])
            if role == Qt.ItemDataRole.ToolTipRole:
                if index.column() == 0:
                    return text + f"\n\nentry hash {e.entry_hash}\n" + (
                        f"signed with key {e.key_id}" if e.key_id else "unsigned (written before signing existed)")
                if index.column() == 2:
                    return text + (f"\nkey {e.key_id}" if e.key_id else "\nunsigned")
                return text
            return text if len(text) < 300 else text[:300] + "…"
        return None


class AuditView(QWidget):
    def __init__(self, case: Case, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.case = case
        self.tasks = tasks
        self.model = AuditModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        h = self.table.horizontalHeader()
        for c, mode in enumerate((QHeaderView.ResizeMode.ResizeToContents,) * 4):
            h.setSectionResizeMode(c, mode)
        h.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        h.setSectionResizeMode(5, QHeaderView.ResizeMode.Interactive)
        h.resizeSection(5, 280)
        self.filter = QLineEdit(placeholderText="action starts with… (e.g. faces., item.)")
        self.filter.returnPressed.connect(self.refresh)
        verify = QPushButton("Verify chain")
        verify.clicked.connect(self.verify)
        self.chain = QLabel("")
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(verify)
        top.addWidget(self.chain)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)

    def refresh(self) -> None:
        prefix = self.filter.text().strip() or None
        self.tasks.run("Audit log", lambda t: self.case.audit_entries(prefix), writer=False,
                       on_done=self._show, on_error=self._error, owner=self)

    def _show(self, entries: list) -> None:
        self.model.set_entries(entries)
        self.table.scrollToBottom()

    def verify(self) -> None:
        self.tasks.run("Verify audit chain", lambda t: self.case.verify_audit(), writer=False,
                       on_done=self._verified, on_error=self._error, owner=self)

    def _verified(self, report) -> None:
        if report.ok:
            signed = (f"{report.unsigned} unsigned (from before signing)" if report.unsigned else "all signed")
            self.chain.setText(f"✔ chain intact: {report.entries} entries, {signed}, head {report.head[:12]}…")
            self.chain.setStyleSheet("color: #2e7d32")
        else:
            where = f"at entry {report.first_broken}" if report.first_broken else "(no entry named)"
            self.chain.setText(f"✘ BROKEN {where}: {report.reason}")
            self.chain.setStyleSheet("color: #b00020; font-weight: bold")
        w = report.witness
        self.chain.setToolTip("\n".join(
            [f"Checked against {w.get('points', 0)} witness point(s) from this machine's witness files"]
            + [f"Proves: {p}" for p in report.proves] + [f"Cannot prove: {p}" for p in report.cannot_prove]
            + [f"Note: {n}" for n in report.notes]))

    def _error(self, err: TaskError) -> None:
        self.chain.setText(f"⚠ {err.message}")
