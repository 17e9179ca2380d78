"""Plain, picklable records passed from the per-file worker to the writer."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forensics.diskimage.tsk import ImageRef


@dataclass(frozen=True)
class IngestOptions:
    """What ingest computes. Kept picklable: it travels to worker processes."""

    workers: int = 0  # 0 = one per core; 1 = in this process (debugging, tests)
    faces: bool = False  # detect and embed faces during ingest (forensics.faces.pipeline)
    frame_interval: float = 1.0  # seconds between sampled video frames
    scene_changes: bool = True  # also sample at scene cuts
    max_frames: int = 10_000  # per video
    thumbnails: bool = True
    max_image_bytes: int = 512 << 20  # larger "images" are hashed but not decoded
    file_timeout: float = 900.0  # seconds one file may take in a worker before it is given up
    # ... plus this much for every second of a video the worker reports having decoded
    # (forensics.ingest.deadline): a long video with faces is not killed for its length
    timeout_per_media_second: float = 60.0
    face_options: dict | None = None  # passed to forensics.faces.pipeline.detect_faces
    # With faces on, video sampling follows the faces (forensics.media.follow): a full-frame
    # look every follow_base s (only where the picture changed since it was last searched, by
    # follow_change_level in 4x4 px blocks, grown by follow_region_margin px; the whole frame when
    # that covers more than follow_region_max of it, and at least every follow_static_max s),
    # every follow_dense s near faces for follow_hold s after the last one, and back in time to
    # where a new face starts. follow_faces=False samples at frame_interval as without faces.
    follow_faces: bool = True
    follow_base: float = 1.0
    follow_dense: float = 0.25
    follow_hold: float = 1.0
    follow_static_max: float = 10.0
    follow_change_level: float = 12.0
    follow_region_margin: int = 48
    follow_region_max: float = 0.6
    # Which detections of a followed face get a descriptor (forensics.faces.select): the
    # first, any clearly larger, sharper or turned one, and one at least every describe_every s
    # (0 describes every detection).
    describe_every: float = 1.0
    describe_grow: float = 1.15
    describe_focus: float = 1.3
    describe_turn: float = 0.2

    def follow_rates(self):
        from forensics.media.follow import FollowRates

        return FollowRates(base=self.follow_base, dense=self.follow_dense, hold=self.follow_hold,
                           static_max=self.follow_static_max, change_level=self.follow_change_level,
                           region_margin=self.follow_region_margin, region_max=self.follow_region_max)

    def describe_rates(self):
        from forensics.faces.select import DescribeRates

        return DescribeRates(every=self.describe_every, grow=self.describe_grow, focus=self.describe_focus,
                             turn=self.describe_turn)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class FileTask:
    """One file to catalogue: its source and its path relative to it (exact bytes). For a
    file inside a disk image, `root` is the image, `relpath` the path inside it
    ('partition 1 (FAT32)/DCIM/...') and `ref` says where TSK finds its bytes."""

    source_id: int
    root: bytes  # absolute path of the source folder (or of the file, for a single-file source)
    relpath: bytes  # b"" when the source is the file itself
    kind_hint: str = "file"  # file, symlink, special, unreadable_dir
    ref: "ImageRef | None" = None

    @property
    def path(self) -> bytes:
        return self.root if not self.relpath else self.root.rstrip(b"/") + b"/" + self.relpath


@dataclass
class FrameRecord:
    index: int
    time: float
    reason: str
    width: int
    height: int
    phash: int | None
    dhash: int | None
    blank: bool
    thumb: bytes | None
    faces: list | None = None  # forensics.faces.pipeline.FaceRecord list; None = not analysed


@dataclass
class FileResult:
    task: FileTask
    item: dict[str, Any]  # items columns
    thumb: bytes | None = None
    probes: bytes | None = None  # forensics.hashing.windows.pack(), for the item_probes table
    frames: list[FrameRecord] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (stage, message)
    faces: list | None = None  # None = not analysed
    noatime_refused: bool = False  # the OS refused O_NOATIME: reading may have updated the access time
