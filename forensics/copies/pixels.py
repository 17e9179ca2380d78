"""The one place copy detection reads an item's pixels again (fine hashes, keypoints).

Images are re-read from the evidence (read-only) and decoded exactly as ingest decoded them
(forensics.media.image.open_image: same draft size, orientation, alpha flattening); video
frames come from their stored thumbnail. Evidence that can no longer be read, or that no
longer decodes, gives None: the caller then decides on the hashes alone.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from forensics.case import Case


def read_item_bytes(case: "Case", item_id: int) -> bytes | None:
    """The bytes to decode for an item: its file (images) or its thumbnail (frames)."""
    row = case.store.read.execute("SELECT kind, thumb FROM items WHERE id = ?", (int(item_id),)).fetchone()
    if row is None:
        return None
    try:
        if row[0] == "image":
            path = case.item_file(int(item_id))
            if path is None:
                return None
            with open(path, "rb") as f:
                return f.read()
        if row[1]:
            return (case.thumbs_dir / row[1]).read_bytes()
    except OSError:
        return None
    return None


def item_image(case: "Case", item_id: int) -> Image.Image | None:
    """The item's pixels as ingest decoded them, or None when they cannot be had."""
    from forensics.media.image import open_image

    data = read_item_bytes(case, item_id)
    if data is None:
        return None
    try:
        return open_image(data).image
    except Exception:  # changed or damaged evidence: the hashes decide
        return None
