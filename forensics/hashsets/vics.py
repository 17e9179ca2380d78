"""Project VIC VICS JSON: the field names, a streaming reader and the 2.0 case export.

VICS is OData JSON. Version 1.x files announce themselves with "odata.metadata", version
2.0 with "@odata.context". "value" is either a list of Media records or a list of Case
records each holding a "Media" list. A Media record is keyed by MD5 and carries SHA1,
Category, Series, VictimIdentified, MediaSize, Tags, MediaFiles (names, paths, times),
Exifs (PropertyName/PropertyValue) and AlternativeHashes (HashName/HashValue). Producers
write booleans and numbers as strings too ("true", "1"); both are accepted.

Field names follow what VICS 2.0 producers write (sources in docs/vics.md): the Case
record carries CaseID (a GUID), CaseNumber, ContactName/ContactEmail/ContactPhone/
ContactTitle/ContactOrganization, SourceApplicationName/Version and Media; MediaFiles,
Exifs and AlternativeHashes entries each repeat their Media record's MD5.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from forensics.context import CaseContext
from forensics.examiners import encode_head
from forensics.hashing.digests import sha256_file
from forensics.hashsets.formats import BOM, BadRecord, HashRecord, norm_hex

VICS2_CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Cases"
# Media fields
MEDIA_ID, MD5, SHA1, CATEGORY, SERIES = "MediaID", "MD5", "SHA1", "Category", "Series"
VICTIM_IDENTIFIED, OFFENDER_IDENTIFIED, IS_DISTRIBUTED = "VictimIdentified", "OffenderIdentified", "IsDistributed"
IS_PRECATEGORIZED, TAGS, COMMENTS, MEDIA_SIZE = "IsPrecategorized", "Tags", "Comments", "MediaSize"
MIME_TYPE, DATE_UPDATED = "MimeType", "DateUpdated"
MEDIA_FILES, EXIFS, ALTERNATIVE_HASHES = "MediaFiles", "Exifs", "AlternativeHashes"
# MediaFiles / Exifs / AlternativeHashes fields
FILE_NAME, FILE_PATH, CREATED, WRITTEN, ACCESSED = "FileName", "FilePath", "Created", "Written", "Accessed"
PROPERTY_NAME, PROPERTY_VALUE = "PropertyName", "PropertyValue"
HASH_NAME, HASH_VALUE = "HashName", "HashValue"
# Case fields
CASE_ID, CASE_NUMBER, CONTACT_NAME, CONTACT_ORGANIZATION = "CaseID", "CaseNumber", "ContactName", "ContactOrganization"
SOURCE_APP, SOURCE_APP_VERSION, MEDIA = "SourceApplicationName", "SourceApplicationVersion", "Media"
SIGNED_HEAD = "@forensics.signedAuditHead"  # an OData annotation: VICS readers skip it
PHASH_NAMES = {"phash", "p-hash", "imagehash.phash"}
DHASH_NAME = "dHash"
KNOWN_MEDIA_KEYS = {MD5, SHA1, CATEGORY, SERIES, VICTIM_IDENTIFIED, ALTERNATIVE_HASHES}


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


def media_record(m: dict) -> HashRecord:
    """A VICS Media record as a HashRecord (everything else kept in `extra`, losslessly)."""
    from forensics.hashing.perceptual import from_hex

    alt = tuple({HASH_NAME: a.get(HASH_NAME), HASH_VALUE: a.get(HASH_VALUE)}
                for a in (m.get(ALTERNATIVE_HASHES) or []) if isinstance(a, dict))
    md5, sha1 = norm_hex(m.get(MD5), "md5"), norm_hex(m.get(SHA1), "sha1")
    sha256 = phash = None
    for a in alt:
        name = str(a[HASH_NAME] or "").strip().lower().replace("-", "")
        value = a[HASH_VALUE]
        if name == "sha256" and value:
            sha256 = norm_hex(value, "sha256")
        elif name == "sha1" and value and sha1 is None:
            sha1 = norm_hex(value, "sha1")
        elif name in PHASH_NAMES and value:
            phash = from_hex(str(value).strip()[-16:])
    if not (md5 or sha1 or sha256):
        raise ValueError("Media record without MD5, SHA1 or SHA256")
    cat = to_int(m.get(CATEGORY))
    if isinstance(m.get(TAGS), str):  # some producers write "a;b"
        m = {**m, TAGS: [t.strip() for t in m[TAGS].replace(",", ";").split(";") if t.strip()]}
    series = m.get(SERIES)
    extra = {k: v for k, v in m.items() if k not in KNOWN_MEDIA_KEYS and not k.endswith("@odata.navigationLinkUrl")}
    return HashRecord(md5, sha1, sha256, cat, None if series in (None, "") else str(series),
                      to_bool(m.get(VICTIM_IDENTIFIED)), phash, alt, extra)


def read_vics(path: Path, info: dict | None = None) -> Iterator[HashRecord | BadRecord]:
    """Stream Media records from a VICS JSON file (ijson events, one record in memory).

    `info` (if given) receives the version, the context URL and the case records' fields."""
    import ijson

    info = info if info is not None else {}
    with open(path, "rb") as f:
        if f.read(3) != BOM:
            f.seek(0)
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
                    n += 1
                    yield _record(builder.value, n)
                    builder = None
                continue
            if case_builder is not None and prefix.startswith("value.item") and not prefix.startswith("value.item.Media"):
                case_builder.event(event, value)
                if prefix == "value.item" and event == "end_map":
                    obj = case_builder.value
                    case_builder = None
                    if isinstance(obj, dict) and (MD5 in obj or SHA1 in obj):
                        n += 1
                        yield _record(obj, n)  # a flat list of Media
                    elif isinstance(obj, dict):
                        info.setdefault("cases", []).append(obj)
    if "version" not in info:
        raise ValueError("not a VICS file: neither 'odata.metadata' nor '@odata.context' found")


def _record(obj, n: int) -> HashRecord | BadRecord:
    try:
        if not isinstance(obj, dict):
            raise ValueError("Media record is not an object")
        return media_record(obj)
    except (ValueError, TypeError) as exc:
        return BadRecord(n, f"Media record {n}: {exc}")


def export_case(ctx: CaseContext, out: Path) -> dict:
    """Write the case as a VICS 2.0 JSON file: one Case record holding one Media record per
    distinct MD5 (binary copies become several MediaFiles). Streams item by item."""
    import json

    from forensics import __version__
    from forensics.hashing.perceptual import to_hex

    info = ctx.record.as_dict()
    cats = ctx.store.read
    out = Path(out)
    n_media = n_files = 0
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "w", encoding="utf-8") as f:
        # CaseID is a GUID in VICS 2.0; derive a stable one so re-exports of a case agree.
        case_guid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"forensics-case:{info['number']}:{info['created_utc']}"))
        head = {CASE_ID: case_guid, CASE_NUMBER: info["number"], CONTACT_NAME: info["examiner"],
                SOURCE_APP: "forensics", SOURCE_APP_VERSION: __version__}
        signed = ctx.signed_head()
        # lets `forensics audit verify --witness EXPORT` check the case against this export; an
        # OData instance annotation, so the VICS Case record itself stays exactly to the schema
        note = f', "{SIGNED_HEAD}": {json.dumps(encode_head(signed))}' if signed else ""
        f.write('{"@odata.context": ' + json.dumps(VICS2_CONTEXT) + note + ', "value": [')
        f.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "' + MEDIA + '": [')
        cur = cats.execute(
            "SELECT i.id, i.md5, i.sha1, i.sha256, i.size, i.mime, i.category, i.note, i.phash, i.dhash, i.exif_json,"
            " i.mtime_utc, i.ctime_utc, i.atime_utc, i.relpath, i.source_id, i.camera_make, i.camera_model, i.taken_time"
            " FROM items i WHERE i.md5 IS NOT NULL AND i.parent_id IS NULL ORDER BY i.md5, i.id")
        group: list = []

        def emit(rows: list) -> None:
            nonlocal n_media, n_files
            first = rows[0]
            tags = sorted({t for r in rows for t in ctx.store.query(
                "SELECT t.name FROM item_tags it JOIN tags t ON t.id = it.tag_id WHERE it.item_id = ?", (r["id"],))
                for t in t})
            md5 = first["md5"]
            alt = []
            if first["sha256"]:
                alt.append({MD5: md5, HASH_NAME: "SHA256", HASH_VALUE: first["sha256"]})
            if first["phash"] is not None:
                alt.append({MD5: md5, HASH_NAME: "pHash", HASH_VALUE: to_hex(first["phash"])})
            if first["dhash"] is not None:
                alt.append({MD5: md5, HASH_NAME: DHASH_NAME, HASH_VALUE: to_hex(first["dhash"])})
            exifs = []
            for k, label in (("camera_make", "Make"), ("camera_model", "Model"), ("taken_time", "DateTimeOriginal")):
                if first[k]:
                    exifs.append({MD5: md5, PROPERTY_NAME: label, PROPERTY_VALUE: str(first[k])})
            cat = next((r["category"] for r in rows if r["category"] is not None), None)
            media = {MEDIA_ID: n_media + 1, MD5: first["md5"], SHA1: first["sha1"], CATEGORY: cat,
                     MEDIA_SIZE: first["size"], MIME_TYPE: first["mime"], TAGS: tags,
                     COMMENTS: next((r["note"] for r in rows if r["note"]), None),
                     MEDIA_FILES: [{MD5: md5, FILE_NAME: os.path.basename(r["relpath"]) or r["relpath"],
                                    FILE_PATH: ctx.catalogue.path_display({"source_id": r["source_id"], "relpath": r["relpath"]}),
                                    CREATED: r["ctime_utc"], WRITTEN: r["mtime_utc"], ACCESSED: r["atime_utc"]} for r in rows],
                     EXIFS: exifs, ALTERNATIVE_HASHES: alt}
            f.write(("," if n_media else "") + json.dumps(media, ensure_ascii=False))
            n_media += 1
            n_files += len(rows)

        for row in cur:
            if group and group[0]["md5"] != row["md5"]:
                emit(group)
                group = []
            group.append(row)
        if group:
            emit(group)
        f.write("]}]}\n")
    os.replace(tmp, out)
    digest = sha256_file(out)
    result = {"out": str(out), "media": n_media, "files": n_files, "sha256": digest, "version": "2.0"}
    ctx.log("export.vics", {"out": str(out.resolve())}, result)
    return result
