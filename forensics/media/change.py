"""Where a fixed camera's picture changed: the parts of a frame a face detector must
search again.

A face that was not in a part of the picture when that part was last searched can only
be there now if the pixels there changed. The picture is kept as the mean luma of 4x4 px
blocks (from the decoder's Y plane, no RGB conversion) as it was when each block was
last searched; a block has changed when its mean moved more than a level (H.264 at CRF
32 with sensor noise of sigma 4 moves a static block by at most 4 of 255, a 20 px face
entering moves most of its 25 blocks by far more). Changed blocks are gathered in 16 px
cells (a cell counts with two changed blocks, so a lone flickering block does not),
grown by a margin of context the detector needs around a face, and cut into disjoint
rectangles along empty rows and columns (X-Y cut), so a face, whose own blocks all
changed, lies inside one rectangle whole.
"""
from __future__ import annotations

import numpy as np

BLOCK = 4  # px: side of the blocks whose mean luma is compared
CELL = 4  # blocks: side of the cells changed blocks are gathered in (16 px)
CELL_MIN = 2  # changed blocks that make a cell changed

Area = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels


def luma_blocks(frame) -> np.ndarray:
    """Mean luma (0-255, rounded, as float32) of the frame's 4x4 px blocks, from the Y
    plane of planar YUV frames (almost all footage); other formats are converted to grey
    first. PIL's box reduction: 0.4 ms for 720p, a tenth of numpy's sum."""
    from PIL import Image

    h, w = frame.height, frame.width
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21"):
        plane = frame.planes[0]
        y = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:h, :w]
    else:
        y = frame.reformat(format="gray").to_ndarray()
    bh, bw = h // BLOCK, w // BLOCK
    if not bh or not bw:
        return np.zeros((bh, bw), np.float32)
    grey = Image.fromarray(np.ascontiguousarray(y[: bh * BLOCK, : bw * BLOCK]))
    return np.asarray(grey.reduce(BLOCK), dtype=np.float32)


def changed_cells(blocks: np.ndarray, ref: np.ndarray, level: float) -> np.ndarray:
    """Boolean grid of 16 px cells holding at least CELL_MIN blocks whose mean moved more
    than `level` from `ref`."""
    changed = np.abs(blocks - ref) > level
    bh, bw = changed.shape
    ch, cw = -(-bh // CELL), -(-bw // CELL)
    padded = np.zeros((ch * CELL, cw * CELL), dtype=np.uint8)
    padded[:bh, :bw] = changed
    return padded.reshape(ch, CELL, cw, CELL).sum(axis=(1, 3)) >= CELL_MIN


def _grow(mask: np.ndarray, cells: int) -> np.ndarray:
    out = mask.copy()
    for _ in range(cells):
        o = out.copy()
        o[1:] |= out[:-1]
        o[:-1] |= out[1:]
        o[:, 1:] |= out[:, :-1]
        o[:, :-1] |= out[:, 1:]
        out = o
    return out


def _xy_cut(mask: np.ndarray, r0: int = 0, c0: int = 0) -> list[tuple[int, int, int, int]]:
    """Disjoint (row0, col0, row1, col1) rectangles covering `mask`, split along empty rows
    and columns until none is left inside a rectangle."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return []
    a, b, c, d = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    sub = mask[a:b, c:d]
    empty = np.flatnonzero(~sub.any(axis=1))
    if len(empty):
        k = int(empty[0])
        return _xy_cut(sub[:k], r0 + a, c0 + c) + _xy_cut(sub[k:], r0 + a + k, c0 + c)
    empty = np.flatnonzero(~sub.any(axis=0))
    if len(empty):
        k = int(empty[0])
        return _xy_cut(sub[:, :k], r0 + a, c0 + c) + _xy_cut(sub[:, k:], r0 + a, c0 + c + k)
    return [(r0 + a, c0 + c, r0 + b, c0 + d)]


def changed_areas(cells: np.ndarray, margin: int, width: int, height: int) -> list[Area]:
    """(x0, y0, x1, y1) pixel rectangles to search: the changed cells grown by `margin` px
    of context, cut into disjoint rectangles, clipped to the frame."""
    side = BLOCK * CELL
    grown = _grow(cells, -(-margin // side))
    rows, cols = grown.shape
    # the last cells reach the frame's edge (its few pixels past the last whole block too)
    return [(c0 * side, r0 * side, width if c1 == cols else min(width, c1 * side),
             height if r1 == rows else min(height, r1 * side)) for r0, c0, r1, c1 in _xy_cut(grown)]


def searched_blocks(ref: np.ndarray, blocks: np.ndarray, areas: list[Area]) -> None:
    """Record in `ref` the blocks of `areas` as searched now (their current means)."""
    for x0, y0, x1, y1 in areas:
        r0, c0, r1, c1 = y0 // BLOCK, x0 // BLOCK, -(-y1 // BLOCK), -(-x1 // BLOCK)
        ref[r0:r1, c0:c1] = blocks[r0:r1, c0:c1]
