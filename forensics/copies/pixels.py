"""The one place copy detection reads an item's pixels again (fine hashes, keypoints).

Images are re-read through the case's one read-only evidence opener (ctx.evidence), checked
against the catalogued SHA-256, and decoded exactly as ingest decoded them
(forensics.media.image.open_image: same draft size, orientation, alpha flattening); video
frames come from their stored thumbnail. Evidence that can no longer be read, that changed
since it was catalogued, or that no longer decodes gives None: the caller then decides on
the hashes alone, and nothing is derived from changed bytes.
"""
from __future__ import annotations

from PIL import Image

from forensics.context import CaseContext


def read_item_bytes(ctx: CaseContext, item_id: int) -> bytes | None:
    """The bytes to decode for an item: its file (images) or its thumbnail (frames)."""
    from forensics.evidence import EvidenceError

    row = ctx.store.read.execute("SELECT kind, thumb FROM items WHERE id = ?", (int(item_id),)).fetchone()
    if row is None:
        return None
    try:
        if row[0] == "image":
            return ctx.evidence.read_item(int(item_id), verify=True)
        if row[1]:
            return (ctx.paths.thumbs / row[1]).read_bytes()
    except (OSError, EvidenceError):
        return None
    return None


def item_image(ctx: CaseContext, item_id: int) -> Image.Image | None:
    """The item's pixels as ingest decoded them, or None when they cannot be had."""
    from forensics.media.image import open_image

    data = read_item_bytes(ctx, item_id)
    if data is None:
        return None
    try:
        return open_image(data).image
    except Exception:  # damaged evidence: the hashes decide
        return None
