"""Project VIC VICS JSON: the field names and a streaming reader (export: forensics.hashsets.vics_export).

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

from forensics.hashsets.formats import BadRecord, FormatError, HashRecord, ReadPosition, Utf8Stream, norm_hex

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
SIGNED_HEAD = "@forensics.signedAuditHead"  # an OData instance annotation: VICS readers skip it

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
            from forensics.hashing.perceptual import from_hex  # numpy: only when a set carries pHashes

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


def read_vics(path: Path, info: dict | None = None,
              pos: ReadPosition | None = None) -> Iterator[HashRecord | BadRecord]:
    """Stream Media records from a VICS JSON file, UTF-8 with or without BOM or UTF-16 LE/BE.

    The head of the file gives the version, the context and the Case record's fields; then
    the Media records are streamed one at a time by ijson's C item builder, from the flat
    `value` list or from the Case records' `Media` lists (the context's "#Media"/"#Cases"
    says which to try first; a file that declares one and holds the other still reads).
    `info` (if given) receives version, context, encoding, form and case records' fields;
    `pos` (if given) follows the bytes read."""
    import ijson

    info = info if info is not None else {}
    try:
        _head(path, info)
        if "version" not in info:
            raise ValueError("not a VICS file: neither 'odata.metadata' nor '@odata.context' found")
        # What the first `value` item holds decides; writers' contexts do not always agree
        # with their content (RECON LAB writes "#Media" over Case records).
        first = info.get("form") or ("flat" if str(info["context"]).endswith("#Media") else "cases")
        forms = (first, "cases" if first == "flat" else "flat")
        for form in forms:
            if (yield from _media(path, form, info, pos)):
                info["form"] = form
                return
    except ijson.JSONError as exc:  # malformed or truncated: the whole import fails, loudly
        raise FormatError(f"not valid JSON ({exc}); after {info.get('records', 0)} Media records") from None


HEAD_EVENTS = 20_000  # the context and Case fields come first; never scan a whole file for them


def _head(path: Path, info: dict) -> None:
    import ijson

    with Utf8Stream(path) as f:
        info["encoding"] = f.encoding
        case: ijson.ObjectBuilder | None = None
        for n, (prefix, event, value) in enumerate(ijson.parse(f, use_float=True)):
            if prefix in ("odata.metadata", "@odata.context") and event == "string":
                info["version"] = "2.0" if prefix.startswith("@") or "2.0" in value else "1.x"
                if "1." in value and "2.0" not in value:
                    m = value.split("DataModels/")[-1][:3]
                    info["version"] = m if m.startswith("1.") else "1.x"
                info["context"] = value
            elif prefix == "value.item" and event == "start_map" and case is None:
                case = ijson.ObjectBuilder()
            in_media = prefix == "value.item.Media" or prefix.startswith("value.item.Media.")  # not MediaID, MediaSize
            if case is not None and prefix.startswith("value.item") and not in_media:
                case.event(event, value)
            end = prefix == "value.item" and event == "end_map"
            if in_media or end or n > HEAD_EVENTS:
                if case is not None and isinstance(case.value, dict):
                    is_media = MD5 in case.value or SHA1 in case.value
                    info.setdefault("form", "cases" if in_media or not is_media else "flat")
                    if not is_media:
                        info.setdefault("cases", []).append(case.value)
                if "version" in info:
                    return
                case = None if end or in_media else case
                if n > HEAD_EVENTS and "version" not in info:
                    return


def _media(path: Path, form: str, info: dict, pos: ReadPosition | None = None) -> Iterator[HashRecord | BadRecord]:
    """Yield the records of one form; returns how many there were."""
    import ijson

    n = info.get("records", 0)
    with Utf8Stream(path, pos) as f:
        for obj in ijson.items(f, "value.item" if form == "flat" else "value.item.Media.item", use_float=True):
            if form == "flat" and isinstance(obj, dict) and isinstance(obj.get(MEDIA), list) and not (
                    MD5 in obj or SHA1 in obj):
                return n  # Case records: the "cases" form reads their Media, streaming
            n = info["records"] = n + 1
            yield _record(obj, n)
    return n


def _record(obj, n: int) -> HashRecord | BadRecord:
    try:
        if not isinstance(obj, dict):
            raise ValueError("Media record is not an object")
        return media_record(obj)
    except (ValueError, TypeError) as exc:
        return BadRecord(n, f"Media record {n}: {exc}")
