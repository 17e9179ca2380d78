"""Controllers of the main window, one per concern: the case (open, create, recent), the
gallery queries, ingest (background run, batched commits), edits (categorise, tag,
bookmark, undo) and analysis jobs (copy groups, face clusters). They hold no widgets of
their own: they run `Case` methods on the task executors and report through signals; the
window wires them to its menus and views."""
