"""The case as Project VIC VICS JSON, in the forms other tools read.

Forms (field sources in docs/vics.md):
- "media" (default): VICS 2.0, `{"@odata.context": ".../2.0.xml/Default/$metadata#Media",
  "value": [Media, ...]}` — exactly the first member and flat Media list IPED's
  HashDBTool.checkDataModel accepts, and the form of the distribution files;
- "cases": VICS 2.0 with one Case record holding the Media list (Clees4All, GriffeyePS
  and GLEAPP write and read this form);
- "1.3": `{"odata.metadata": ".../1.3.xml#Media", "value": [...]}`, flags written as
  "true"/"false" strings, which is how IPED's ProjectVICHashLookup reads them.

One Media record per distinct MD5 (binary copies become several MediaFiles). Hashes are
upper-case hex as the distribution files write them. Null fields are left out (MD5 and
SHA1 are read with `nextTextValue().trim()` by IPED, so a null there would abort its whole
import) except Category, written as null when the file has none; IsPrecategorized, which
the model makes non-nullable, is always written.
Categories set on video frames become Segments of their video. Streams item by item.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from forensics.context import CaseContext
from forensics.examiners import encode_head
from forensics.hashing.digests import sha256_file
from forensics.store.hashset_status import EFFECTIVE_CATEGORY_SQL
from forensics.hashsets.vics import (
    ACCESSED, ALTERNATIVE_HASHES, CASE_ID, CASE_NUMBER, CATEGORY, COMMENTS, CONTACT_NAME, CREATED, DHASH_NAME, END,
    EXIFS, FILE_NAME, FILE_PATH, HASH_NAME, HASH_VALUE, IS_PRECATEGORIZED, MD5, MEDIA, MEDIA_FILE_ID, MEDIA_FILES,
    MEDIA_ID, MEDIA_SIZE, MIME_TYPE, PHASH_NAME, PRECAT_SOURCE, PROPERTY_NAME, PROPERTY_VALUE, RELATIVE_FILE_PATH,
    SEGMENT_INDEX, SEGMENTS, SHA1, SIGNED_HEAD, SOURCE_APP, SOURCE_APP_VERSION, SOURCE_ID, START, TAGS,
    TOTAL_MEDIA_FILES, TOTAL_PRECATEGORIZED, WRITTEN,
)

VICS20_MEDIA = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
VICS20_CASES = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Cases"
VICS13_MEDIA = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"
FORMS = ("media", "cases", "1.3")
TAG_SEPARATOR = ";"  # Tags is one Edm.String in the model

_ROWS = ("SELECT i.id, i.kind, i.md5, i.sha1, i.sha256, i.size, i.mime, i.category, i.note, i.phash, i.dhash,"
         " i.mtime_utc, i.btime_utc, i.atime_utc, i.relpath, i.source_id, i.camera_make, i.camera_model,"
         " i.taken_time, i.duration, s.label AS source_label, s.path AS source_path"
         " FROM items i JOIN sources s ON s.id = i.source_id"
         " WHERE i.md5 IS NOT NULL AND i.parent_id IS NULL ORDER BY upper(i.md5), i.id")


def pick_category(cats) -> int | None:
    """One category for several copies or segments: the most severe (lowest non-zero
    number), else 0 (non-pertinent), else none."""
    cats = [c for c in cats if c is not None]
    return min((c for c in cats if c), default=0) if cats else None


def _clock(seconds: float) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def segments(frames: list[tuple[float, int | None]], duration: float | None, md5: str) -> list[dict]:
    """VICS Segments from a video's sampled frames `(time, category)`: a categorised frame
    stands for the stretch up to the next sampled frame (or the end of the video); runs
    of neighbouring frames with one category merge into one segment."""
    frames = sorted(frames)
    out: list[dict] = []
    for n, (t, cat) in enumerate(frames):
        if cat is None:
            continue
        end = frames[n + 1][0] if n + 1 < len(frames) else max(duration or t, t)
        if out and out[-1][CATEGORY] == cat and out[-1]["_end"] == t:
            out[-1]["_end"] = end
            continue
        out.append({MD5: md5, SEGMENT_INDEX: len(out) + 1, "_start": t, "_end": end, CATEGORY: cat})
    return [{MD5: s[MD5], SEGMENT_INDEX: s[SEGMENT_INDEX], START: _clock(s["_start"]), END: _clock(s["_end"]),
             CATEGORY: s[CATEGORY]} for s in out]


class _Writer:
    def __init__(self, ctx: CaseContext, form: str, annotation: dict) -> None:
        self.ctx = ctx
        self.form = form
        self.annotation = annotation  # written once, on the first Media record
        self.n_media = self.n_files = self.n_segments = self.n_precat = 0

    def flag(self, value: bool):
        return ("true" if value else "false") if self.form == "1.3" else bool(value)

    def _tags(self, ids: list[int]) -> str | None:
        marks = ",".join("?" * len(ids))
        names = sorted({r[0] for r in self.ctx.store.query(
            f"SELECT t.name FROM item_tags it JOIN tags t ON t.id = it.tag_id WHERE it.item_id IN ({marks})", ids)})
        return TAG_SEPARATOR.join(names) or None

    def _precategorised(self, ids: list[int], category: int | None) -> str | None:
        """Names of the hash sets whose match gave these files their category, if any."""
        if category is None:
            return None
        marks = ",".join("?" * len(ids))
        names = [r[0] for r in self.ctx.store.query(
            f"SELECT DISTINCT s.name FROM hash_matches m JOIN hash_sets s ON s.id = m.set_id"
            f" JOIN hash_set_entries e ON e.id = m.entry_id WHERE m.item_id IN ({marks})"
            f" AND {EFFECTIVE_CATEGORY_SQL} = ? ORDER BY s.name",
            [*ids, category])]
        return ", ".join(names) or None

    def _frames(self, ids: list[int]) -> tuple[list[tuple[float, int | None]], bool]:
        marks = ",".join("?" * len(ids))
        by_index: dict[int, tuple[float, int | None]] = {}
        for idx, t, cat in self.ctx.store.query(
                f"SELECT frame_index, frame_time, category FROM items WHERE parent_id IN ({marks}) AND kind = 'frame'"
                " ORDER BY parent_id", ids):
            prev = by_index.get(idx)
            by_index[idx] = (t or 0.0, pick_category([cat, prev[1] if prev else None]))
        frames = list(by_index.values())
        return frames, any(c is not None for _, c in frames)

    def media(self, rows: list) -> dict:
        from forensics.hashing.perceptual import to_hex

        first = rows[0]
        ids = [r["id"] for r in rows]
        md5 = first["md5"].upper()
        category = pick_category(r["category"] for r in rows)
        segs: list[dict] = []
        if first["kind"] == "video":
            frames, any_cat = self._frames(ids)
            if any_cat:
                segs = segments(frames, first["duration"], md5)
                if category is None:  # the video holds what its frames show
                    category = pick_category(s[CATEGORY] for s in segs)
        precat = self._precategorised(ids, category)
        # Category is written even when null: IPED's ProjectVICHashLookup reads a missing
        # Category as 0 (its byte default, "non-pertinent") but a null as -1 (none).
        m: dict = {MEDIA_ID: self.n_media + 1, CATEGORY: category, MD5: md5}
        if self.n_media == 0:
            m.update(self.annotation)
        if first["sha1"]:
            m[SHA1] = first["sha1"].upper()
        tags = self._tags(ids)
        if tags:
            m[TAGS] = tags
        note = next((r["note"] for r in rows if r["note"]), None)
        if note:
            m[COMMENTS] = note
        if first["size"] is not None:
            m[MEDIA_SIZE] = first["size"]
        m[RELATIVE_FILE_PATH] = first["relpath"] or os.path.basename(first["source_path"])
        m[IS_PRECATEGORIZED] = self.flag(precat is not None)
        if precat:
            m[PRECAT_SOURCE] = precat
        if first["mime"]:
            m[MIME_TYPE] = first["mime"]
        m[MEDIA_FILES] = [self._media_file(r, md5) for r in rows]
        exifs = [{MD5: md5, PROPERTY_NAME: label, PROPERTY_VALUE: str(first[k])}
                 for k, label in (("camera_make", "Make"), ("camera_model", "Model"), ("taken_time", "DateTimeOriginal"))
                 if first[k]]
        if exifs:
            m[EXIFS] = exifs
        alt = []
        if first["sha256"]:
            alt.append({MD5: md5, HASH_NAME: "SHA256", HASH_VALUE: first["sha256"].upper()})
        if first["phash"] is not None:
            alt.append({MD5: md5, HASH_NAME: PHASH_NAME, HASH_VALUE: to_hex(first["phash"]).upper()})
        if first["dhash"] is not None:
            alt.append({MD5: md5, HASH_NAME: DHASH_NAME, HASH_VALUE: to_hex(first["dhash"]).upper()})
        if alt:
            m[ALTERNATIVE_HASHES] = alt
        if segs:
            m[SEGMENTS] = segs
        self.n_media += 1
        self.n_files += len(rows)
        self.n_segments += len(segs)
        self.n_precat += precat is not None
        return m

    def _media_file(self, r, md5: str) -> dict:
        f = {MD5: md5, MEDIA_FILE_ID: r["id"],
             FILE_NAME: os.path.basename(r["relpath"]) or os.path.basename(r["source_path"]),
             FILE_PATH: self.ctx.catalogue.path_display({"source_id": r["source_id"], "relpath": r["relpath"]})}
        # Created only where the file system recorded a birth time: ctime on Unix is the
        # inode change time and would mislead a court about when a file appeared.
        for key, col in ((CREATED, "btime_utc"), (WRITTEN, "mtime_utc"), (ACCESSED, "atime_utc")):
            if r[col]:
                f[key] = r[col]
        f[SOURCE_ID] = r["source_label"] or r["source_path"]
        return f


def export_case(ctx: CaseContext, out: Path, form: str = "media") -> dict:
    """Write the case as a VICS JSON file in `form` ("media", "cases" or "1.3"); the file
    is written beside `out` and renamed into place, so a failed export leaves nothing."""
    from forensics import __version__
    from forensics.model import CaseError

    if form not in FORMS:
        raise CaseError(f"VICS export form must be one of {', '.join(FORMS)}, not {form!r}")
    info = ctx.record.as_dict()
    out = Path(out)
    tmp = out.with_name(out.name + ".part")
    # The signed audit head lets `forensics audit verify --witness EXPORT` check the case
    # against this file. It rides as an OData instance annotation on the Case record, or in
    # the flat forms on the first Media record: IPED refuses any top-level member besides the
    # context and `value`, and every reader here skips annotations.
    signed = ctx.signed_head()
    annotation = {SIGNED_HEAD: encode_head(signed)} if signed else {}
    w = _Writer(ctx, form, {} if form == "cases" else annotation)
    dumps = lambda obj: json.dumps(obj, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:  # UTF-8 without BOM: IPED reads through a Reader
        if form == "1.3":
            f.write('{"odata.metadata":' + dumps(VICS13_MEDIA) + ',"value":[')
        elif form == "media":
            f.write('{"@odata.context":' + dumps(VICS20_MEDIA) + ',"value":[')
        else:
            # CaseID is an Edm.Guid; derive a stable one so re-exports of a case agree.
            guid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"forensics-case:{info['number']}:{info['created_utc']}"))
            head = {CASE_ID: guid, CASE_NUMBER: info["number"], CONTACT_NAME: info["examiner"],
                    SOURCE_APP: "forensics", SOURCE_APP_VERSION: __version__, **annotation}
            f.write('{"@odata.context":' + dumps(VICS20_CASES) + ',"value":[' + dumps(head)[:-1] + f',"{MEDIA}":[')
        group: list = []
        for row in ctx.store.read.execute(_ROWS):
            if group and group[0]["md5"].upper() != row["md5"].upper():
                f.write(("," if w.n_media else "") + dumps(w.media(group)))
                group = []
            group.append(row)
        if group:
            f.write(("," if w.n_media else "") + dumps(w.media(group)))
        if form == "cases":
            f.write(f'],"{TOTAL_MEDIA_FILES}":{w.n_files},"{TOTAL_PRECATEGORIZED}":{w.n_precat}}}]}}\n')
        else:
            f.write("]}\n")
    os.replace(tmp, out)
    digest = sha256_file(out)
    version = "1.3" if form == "1.3" else "2.0"
    result = {"out": str(out), "form": form, "version": version, "media": w.n_media, "files": w.n_files,
              "segments": w.n_segments, "precategorized": w.n_precat, "sha256": digest}
    ctx.log("export.vics", {"out": str(out.resolve()), "form": form}, result)
    return result
