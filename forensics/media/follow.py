"""Face-following video sampling: cheap everywhere, dense where faces are.

Archived fixed-camera footage is mostly static, and a person crossing it is visible for
a second or two. Sampling once a second misses short appearances; running the detector
on every frame costs far too much. This sampler decodes every frame (H.264 needs it) but
hands out only:

- a base sample every `base` seconds that searches only the parts of the picture that
  changed since they were last searched (forensics.media.change: 4x4 px blocks of the
  Y plane, `change_level`), grown by `region_margin` px of context and passed on as
  `SampledFrame.areas` together with the faces being followed (`near`); the whole frame
  when the changes cover more than `region_max` of it (a crowd, a moving camera), and at
  least every `static_max`. Where nothing changed, no face can have come: the sample is
  skipped (a static stretch costs a decode and a block signature per frame), and a
  person standing still costs only the dense samples around them, not a whole-frame
  search every `base` seconds;
- every scene cut;
- dense samples every `dense` seconds for `hold` seconds after the last frame with a
  face, carrying the boxes where faces were (`SampledFrame.near`) so the detector can
  search only there;
- look-back samples: when a base sample finds a new face, the frames since the previous
  base sample (kept decoded in a short buffer) are sampled densely backwards, so the
  appearance's start is found, not rounded up to the next base sample.

An appearance of at least `base` seconds gets at least one base look (where it changed
the picture), then every `dense` seconds while it lasts. The consumer reports each sample's faces with `found()`
before asking for the next frame. All rates are `FollowRates` fields, recorded with the run.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from forensics.media.change import Area, changed_areas, changed_cells, luma_blocks, searched_blocks
from forensics.media.video import (SCENE_DIFF, SampledFrame, VideoInfo, decode_failed, finish_info, grey_small, rgb_array,
                                   single_threaded)

Box = tuple[int, int, int, int]  # top, right, bottom, left


@dataclass(frozen=True)
class FollowRates:
    base: float = 1.0  # seconds between full-frame samples everywhere (one look inside any 1 s appearance)
    dense: float = 0.25  # seconds between samples around faces (each costs a descriptor per face)
    hold: float = 1.0  # keep sampling densely this long after the last face seen
    static_max: float = 10.0  # on a static picture, still one whole-frame sample this often
    # a 4x4 px block whose mean luma (0-255) moved this much since that part of the picture was
    # last searched has changed (forensics.media.change); a base sample searches only the
    # changed parts (grown by region_margin px), or the whole frame when they cover more
    # than region_max of it
    change_level: float = 12.0
    region_margin: int = 48
    region_max: float = 0.6

    def as_dict(self) -> dict:
        return asdict(self)


def _overlaps(a: Box, b: Box) -> bool:
    return not (a[2] <= b[0] or b[2] <= a[0] or a[1] <= b[3] or b[1] <= a[3])


class FollowSampler:
    """Iterate over the samples of one video; call `found(sample, boxes)` after analysing each."""

    def __init__(self, container, info: VideoInfo, rates: FollowRates | None = None,
                 scene_changes: bool = True, max_frames: int = 10_000) -> None:
        self.container = container
        self.info = info
        self.rates = rates or FollowRates()
        self.scene_changes = scene_changes
        self.max_frames = max_frames
        self.counts: dict[str, int] = {}  # samples by reason
        self.emitted = 0
        self._feedback: dict[int, tuple[Box, ...]] = {}

    def found(self, sample: SampledFrame, boxes: list[Box] | tuple[Box, ...]) -> None:
        """Report the face boxes found on `sample` (an empty list when none)."""
        self._feedback[sample.index] = tuple(tuple(int(v) for v in b) for b in boxes)  # type: ignore[misc]

    def __iter__(self) -> Iterator[SampledFrame]:
        r = self.rates
        vs = next(s for s in self.container.streams if s.type == "video")
        single_threaded(vs)
        fps = self.info.fps or 25.0
        buffer: deque = deque()  # (index, t, frame, faces if analysed) since the last base sample, for looking back
        decoded = 0
        last_t = 0.0
        t0: float | None = None
        prev_sig: np.ndarray | None = None
        ref_blocks: np.ndarray | None = None  # each 4x4 block's mean luma when it was last searched
        ref_t = -1e9  # when the whole frame was last searched
        next_base = next_dense = 0.0
        seen: dict[Box, float] = {}  # face boxes being followed -> when last seen

        def following(t: float) -> tuple[Box, ...]:
            for b in [b for b, when in seen.items() if t - when > r.hold + 1e-6]:
                del seen[b]
            return tuple(seen)

        def note(got: tuple[Box, ...], t: float) -> list[Box]:
            """Follow the boxes found at `t`; return those that are new faces."""
            new = [b for b in got if not any(_overlaps(b, o) for o in seen)]
            for o in [o for o in seen if any(_overlaps(o, b) for b in got)]:
                del seen[o]
            seen.update({b: t for b in got})
            return new

        try:
            for frame in self.container.decode(vs):
                if self.emitted >= self.max_frames:
                    self.info.flags.append("frames_capped")
                    break
                t_abs = float(frame.time) if frame.time is not None else decoded / fps
                t0 = t_abs if t0 is None else t0
                t = last_t = t_abs - t0
                index = decoded
                decoded += 1
                sig = grey_small(frame)
                scene = (self.scene_changes and prev_sig is not None
                         and float(np.abs(sig - prev_sig).mean()) > SCENE_DIFF)
                prev_sig = sig
                full = scene
                areas: list[Area] = []  # a base sample on part of the frame searches only these
                blocks = luma_blocks(frame) if scene or t + 1e-6 >= next_base else None
                if not full and blocks is not None:
                    next_base = (int(t / r.base + 1e-6) + 1) * r.base
                    if ref_blocks is None or ref_blocks.shape != blocks.shape or t - ref_t >= r.static_max - 1e-6:
                        full = True
                    else:
                        # nothing changed: no face can have come, and followed faces have their dense samples
                        areas, full = self._changed(blocks, ref_blocks, frame.width, frame.height)
                near = following(t)
                if not full and near and t + 1e-6 >= next_dense:
                    next_dense = t + r.dense
                    yield self._emit(index, t, frame, "dense", near)
                    got = self._feedback.pop(index, ())
                    note(got, t)
                    buffer.append((index, t, frame, got))  # analysed: a look-back uses the result
                    continue
                if not full:
                    buffer.append((index, t, frame, None))
                    while buffer and buffer[0][1] < t - r.base - 1e-6:
                        buffer.popleft()
                    continue
                if areas:  # part of the frame: the changed areas, and around the faces followed
                    yield self._emit(index, t, frame, "interval", near, tuple(areas))
                    searched_blocks(ref_blocks, blocks, areas)  # type: ignore[arg-type]
                else:
                    yield self._emit(index, t, frame, "scene" if scene else "interval")
                    ref_blocks, ref_t = blocks, t
                got = self._feedback.pop(index, ())
                new = note(got, t)
                if got:
                    next_dense = t + r.dense
                if new and not scene:
                    yield from self._look_back(buffer, t, tuple(new))
                buffer.clear()
        except Exception as exc:
            decode_failed(self.info, decoded, exc)
        finish_info(self.info, vs, decoded, last_t, fps)

    def _changed(self, blocks: np.ndarray, ref: np.ndarray, width: int, height: int) -> tuple[list[Area], bool]:
        """(areas, look) for a base sample: look is False when nothing changed since each
        part was last searched; areas are the changed parts to search, [] for the whole
        frame (when they cover more than `region_max` of it)."""
        r = self.rates
        cells = changed_cells(blocks, ref, r.change_level)
        if not cells.any():
            return [], False
        areas = changed_areas(cells, r.region_margin, width, height)
        if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in areas) > r.region_max * width * height:
            return [], True
        return areas, True

    def _emit(self, index: int, t: float, frame, reason: str, near: tuple[Box, ...] = (),
              areas: tuple[Area, ...] = ()) -> SampledFrame:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        if areas:
            self.counts["partial"] = self.counts.get("partial", 0) + 1
        self.emitted += 1
        return SampledFrame(index, max(t, 0.0), rgb_array(frame), reason, near, areas)

    def _look_back(self, buffer: deque, t: float, near: tuple[Box, ...]) -> Iterator[SampledFrame]:
        """A face appeared since the previous full-frame look: sample the buffered frames
        backwards every `dense` seconds while it is still found, to find where it starts."""
        step_t = t - self.rates.dense
        for index, bt, frame, analysed in reversed(buffer):
            if bt > step_t + 1e-6:
                continue
            step_t = bt - self.rates.dense
            if analysed is not None:
                # a dense sample looked here, near other faces: where it found this one, go on
                # from there; where it did not, it may not have searched there, so go on too
                near = tuple(b for b in analysed if any(_overlaps(b, n) for n in near)) or near
                continue
            yield self._emit(index, bt, frame, "lookback", near)
            back = self._feedback.pop(index, ())
            if not back:
                return
            near = back
