"""Which detections of a followed video face get a descriptor.

The face-following sampler (forensics.media.follow) looks at a face every fraction of a
second while it is visible; dlib's descriptor is the costly step (about 0.11 CPU s a face
here, more than finding it), and consecutive crops of one walking face are near
duplicates. So a followed face is described

- on its first detection (a new face is always described);
- whenever it is clearly larger (`grow`) or in better focus (`focus`: sharpness times
  detector confidence) than every detection of it described so far: the sharp frame where
  the face comes closer or turns to the camera is never skipped;
- whenever it has turned (`turn`: the landmark yaw, nose offset along the eye line in eye
  distances, differs by that much from every described detection of it);
- and at least every `every` seconds in any case.

A detection that is not described still moves the follow (its box goes back to the
sampler), and is counted, but it is not a stored face: a face row always holds the
descriptor of its own crop. What it adds is time: each described face carries the span
over which its followed face was detected (`span`), so a track starts where the face was
first seen, not at its first described detection. Faces are matched to the followed ones by position (one to
one per frame, nearest first), never by appearance, since that is what is not computed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from forensics.faces.detect import Candidate


@dataclass(frozen=True)
class DescribeRates:
    every: float = 1.0  # seconds: a followed face is described at least this often (0: describe every detection)
    grow: float = 1.15  # ...and when this many times wider than its widest described detection
    focus: float = 1.3  # ...or when sharpness x confidence is this many times its best described
    turn: float = 0.2  # ...or when its yaw differs this much from every described one
    forget: float = 2.0  # seconds unseen after which a followed face is forgotten

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Followed:
    ident: int
    box: tuple[int, int, int, int]
    seen: float
    described: float
    width: int
    focus: float
    yaws: list[float] = field(default_factory=list)
    first: float = 0.0  # earliest and latest time it was detected (look-back runs backwards)
    last: float = 0.0


def _focus(c: Candidate) -> float:
    return max(c.sharpness, 1.0) * max(c.det_score, 0.05)


def _centre(b: tuple[int, int, int, int]) -> tuple[float, float]:
    return (b[1] + b[3]) / 2.0, (b[0] + b[2]) / 2.0


class DescriptorSelector:
    """Per video: `choose(t, candidates)` returns the candidates to describe."""

    def __init__(self, rates: DescribeRates | None = None) -> None:
        self.rates = rates or DescribeRates()
        self.followed: list[_Followed] = []
        self.counts = {"detections": 0, "described": 0}
        self.chosen_idents: list[int] = []  # which followed face each candidate of the last choose() is
        self._spans: dict[int, tuple[float, float]] = {}
        self._next = 0

    def span(self, ident: int) -> tuple[float, float]:
        """(first, last) time a followed face was detected, described or not."""
        return self._spans[ident]

    def _new(self, c: Candidate, t: float) -> _Followed:
        self._next += 1
        return _Followed(self._next, c.box, t, t, c.size, _focus(c), [c.yaw], t, t)

    def choose(self, t: float, candidates: list[Candidate]) -> list[Candidate]:
        r = self.rates
        self.counts["detections"] += len(candidates)
        self.followed = [f for f in self.followed if abs(t - f.seen) <= r.forget]
        # one-to-one by position: nearest pairs first, within 1.5 face widths
        pairs = []
        for ci, c in enumerate(candidates):
            cx, cy = _centre(c.box)
            for fi, f in enumerate(self.followed):
                fx, fy = _centre(f.box)
                d = ((cx - fx) ** 2 + (cy - fy) ** 2) ** 0.5
                if d <= 1.5 * max(c.size, f.width, 8):
                    pairs.append((d, ci, fi))
        match: dict[int, int] = {}
        used: set[int] = set()
        for _, ci, fi in sorted(pairs):
            if ci not in match and fi not in used:
                match[ci] = fi
                used.add(fi)
        out = []
        self.chosen_idents = []
        for ci, c in enumerate(candidates):
            fi = match.get(ci)
            if fi is None:
                f = self._new(c, t)
                self.followed.append(f)
                due = True
            else:
                f = self.followed[fi]
                f.box, f.seen = c.box, t
                f.first, f.last = min(f.first, t), max(f.last, t)
                due = (r.every <= 0 or abs(t - f.described) >= r.every - 1e-6 or c.size >= r.grow * f.width
                       or _focus(c) >= r.focus * f.focus or min(abs(c.yaw - y) for y in f.yaws) >= r.turn)
                if due:
                    f.described = t
                    f.width, f.focus = max(f.width, c.size), max(f.focus, _focus(c))
                    f.yaws.append(c.yaw)
            self._spans[f.ident] = (f.first, f.last)
            if due:
                out.append(c)
                self.chosen_idents.append(f.ident)
        self.counts["described"] += len(out)
        return out
