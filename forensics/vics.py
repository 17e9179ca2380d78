"""Project VIC VICS JSON: the field names and a streaming reader (export: forensics.vics_export).

VICS is OData JSON. Version 1.x files announce themselves with "odata.metadata", version
2.0 with "@odata.context". "value" is either a flat list of Media records (the form the
distribution files and IPED use: ".../2.0.xml/Default/$metadata#Media") or a list of Case
records each holding a "Media" list ("...#Cases", as X-Ways' Clees4All, GriffeyePS and
GLEAPP write). A Media record is keyed by MD5 and carries SHA1, Category, Series, the
VictimIdentified/OffenderIdentified/IsDistributed flags, MediaSize, Tags, MediaFiles,
Exifs, AlternativeHashes (HashName/HashValue, PhotoDNA among them) and, for videos,
Segments with their own categories. Producers write booleans and numbers as strings too
("true", "1"); both are accepted. Field sources are listed in docs/vics.md.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from forensics.hashsets.formats import BadRecord, FormatError, HashRecord, Utf8Stream, norm_hex

# Media fields
MEDIA_ID, MD5, SHA1, CATEGORY, SERIES = "MediaID", "MD5", "SHA1", "Category", "Series"
VICTIM_IDENTIFIED, OFFENDER_IDENTIFIED, IS_DISTRIBUTED = "VictimIdentified", "OffenderIdentified", "IsDistributed"
IS_PRECATEGORIZED, PRECAT_SOURCE = "IsPrecategorized", "PrecategorizationSource"
TAGS, COMMENTS, MEDIA_SIZE, RELATIVE_FILE_PATH = "Tags", "Comments", "MediaSize", "RelativeFilePath"
MIME_TYPE, DATE_UPDATED = "MimeType", "DateUpdated"
MEDIA_FILES, EXIFS, ALTERNATIVE_HASHES, SEGMENTS = "MediaFiles", "Exifs", "AlternativeHashes", "Segments"
# MediaFiles / Exifs / AlternativeHashes / Segments fields
MEDIA_FILE_ID, FILE_NAME, FILE_PATH, SOURCE_ID = "MediaFileID", "FileName", "FilePath", "SourceID"
CREATED, WRITTEN, ACCESSED = "Created", "Written", "Accessed"
PROPERTY_NAME, PROPERTY_VALUE = "PropertyName", "PropertyValue"
HASH_NAME, HASH_VALUE = "HashName", "HashValue"
SEGMENT_INDEX, START, END = "SegmentIndex", "Start", "End"
# Case fields
CASE_ID, CASE_NUMBER, CONTACT_NAME, CONTACT_ORGANIZATION = "CaseID", "CaseNumber", "ContactName", "ContactOrganization"
SOURCE_APP, SOURCE_APP_VERSION, MEDIA = "SourceApplicationName", "SourceApplicationVersion", "Media"
TOTAL_MEDIA_FILES, TOTAL_PRECATEGORIZED = "TotalMediaFiles", "TotalPrecategorized"

# This project's perceptual hashes as AlternativeHashes. No other tool reads them; the names
# say what they are (imagehash's algorithms, 64 bits, big-endian hex) so nobody mistakes
# them for PhotoDNA or another tool's pHash.
PHASH_NAME, DHASH_NAME = "imagehash.phash-64", "imagehash.dhash-64"
PHASH_NAMES = {"phash", "p-hash", "imagehash.phash", PHASH_NAME.lower()}
# Stored in their own columns (normalised); everything else stays in `extra` as given.
COLUMN_KEYS = {MD5, SHA1, ALTERNATIVE_HASHES}


def to_bool(v) -> bool | None:
    """VICS booleans: true/false, "true"/"false", 1/0, "1"/"0", "yes"/"no"."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("true", "1", "yes", "y", "t"):
        return True
    if s in ("false", "0", "no", "n", "f"):
        return False
    raise ValueError(f"not a boolean: {v!r}")


def to_int(v) -> int | None:
    if v is None or v == "":
        return None
    return int(float(v)) if not isinstance(v, bool) else int(v)


def _flag(m: dict, key: str) -> bool | None:
    try:
        return to_bool(m.get(key))
    except ValueError:
        return None  # kept as written in `extra`; an odd flag never costs the hash


def _category(m: dict) -> int | None:
    """The Media Category; a video without one takes its most severe segment category
    (the lowest non-zero number, else 0)."""
    cat = to_int(m.get(CATEGORY))
    if cat is None:
        segs = [to_int(s.get(CATEGORY)) for s in (m.get(SEGMENTS) or []) if isinstance(s, dict)]
        segs = [c for c in segs if c is not None]
        if segs:
            cat = min((c for c in segs if c), default=0)
    if cat is not None and not 0 <= cat <= 99:
        raise ValueError(f"Category {cat} is outside 0-99")
    return cat


def media_record(m: dict) -> HashRecord:
    """A VICS Media record as a HashRecord; every field the file carries is kept."""
    from forensics.hashing.perceptual import from_hex

    alt = tuple(a for a in (m.get(ALTERNATIVE_HASHES) or []) if isinstance(a, dict))
    md5, sha1 = norm_hex(m.get(MD5), "md5"), norm_hex(m.get(SHA1), "sha1")
    sha256 = phash = None
    for a in alt:
        name = str(a.get(HASH_NAME) or "").strip().lower()
        value = a.get(HASH_VALUE)
        if name.replace("-", "") == "sha256" and value:
            sha256 = norm_hex(value, "sha256")
        elif name.replace("-", "") == "sha1" and value and sha1 is None:
            sha1 = norm_hex(value, "sha1")
        elif name in PHASH_NAMES and value:
            phash = from_hex(str(value).strip()[-16:])
    if not (md5 or sha1 or sha256):
        raise ValueError("Media record without MD5, SHA1 or SHA256")
    series = m.get(SERIES)
    size = m.get(MEDIA_SIZE)
    try:
        size = to_int(size)
    except (TypeError, ValueError):
        size = None
    extra = {k: v for k, v in m.items() if k not in COLUMN_KEYS}
    return HashRecord(md5, sha1, sha256, _category(m), None if series in (None, "") else str(series),
                      _flag(m, VICTIM_IDENTIFIED), _flag(m, OFFENDER_IDENTIFIED), _flag(m, IS_DISTRIBUTED), size,
                      phash, alt, extra)


def read_vics(path: Path, info: dict | None = None) -> Iterator[HashRecord | BadRecord]:
    """Stream Media records from a VICS JSON file (ijson events, one record in memory),
    UTF-8 with or without BOM or UTF-16 LE/BE.

    `info` (if given) receives the version, the context URL, the text encoding and the
    case records' fields."""
    import ijson

    info = info if info is not None else {}
    try:
        yield from _read(path, info)
    except ijson.JSONError as exc:  # malformed or truncated: the whole import fails, loudly
        raise FormatError(f"not valid JSON ({exc}); after {info.get('records', 0)} Media records") from None
    if "version" not in info:
        raise ValueError("not a VICS file: neither 'odata.metadata' nor '@odata.context' found")


def _read(path: Path, info: dict) -> Iterator[HashRecord | BadRecord]:
    import ijson

    with Utf8Stream(path) as f:
        info["encoding"] = f.encoding
        builder: ijson.ObjectBuilder | None = None
        case_builder: ijson.ObjectBuilder | None = None
        n = 0
        for prefix, event, value in ijson.parse(f, use_float=True):
            if prefix in ("odata.metadata", "@odata.context") and event == "string":
                info["version"] = "2.0" if prefix.startswith("@") or "2.0" in value else "1.x"
                if "1." in value and "2.0" not in value:
                    m = value.split("DataModels/")[-1][:3]
                    info["version"] = m if m.startswith("1.") else "1.x"
                info["context"] = value
                continue
            if prefix == "value.item" and event == "start_map":
                case_builder = ijson.ObjectBuilder()
            if prefix == "value.item.Media.item" and event == "start_map":
                builder = ijson.ObjectBuilder()
            if builder is not None:
                builder.event(event, value)
                if prefix == "value.item.Media.item" and event == "end_map":
                    n = info["records"] = n + 1
                    yield _record(builder.value, n)
                    builder = None
                continue
            in_media = prefix == "value.item.Media" or prefix.startswith("value.item.Media.")  # not MediaID, MediaSize
            if case_builder is not None and prefix.startswith("value.item") and not in_media:
                case_builder.event(event, value)
                if prefix == "value.item" and event == "end_map":
                    obj = case_builder.value
                    case_builder = None
                    if isinstance(obj, dict) and (MD5 in obj or SHA1 in obj):
                        n = info["records"] = n + 1
                        yield _record(obj, n)  # a flat list of Media
                    elif isinstance(obj, dict):
                        info.setdefault("cases", []).append(obj)


def _record(obj, n: int) -> HashRecord | BadRecord:
    try:
        if not isinstance(obj, dict):
            raise ValueError("Media record is not an object")
        return media_record(obj)
    except (ValueError, TypeError) as exc:
        return BadRecord(n, f"Media record {n}: {exc}")


def export_case(case, out: Path, form: str = "media") -> dict:
    """Write the case as VICS JSON; see forensics.vics_export.export_case."""
    from forensics.vics_export import export_case as _export

    return _export(case, out, form)
