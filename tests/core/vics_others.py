"""Other tools' VICS reading rules, ported token for token, to check this project's export.

Sources (read with the search tool, cited in docs/vics.md):
- IPED `iped-engine/src/main/java/iped/engine/hashdb/HashDBTool.java`: `readProjectVIC`,
  `checkDataModel`, `isKnownJson` (Jackson streaming parser);
- IPED `.../dpf/sp/gpinf/indexer/process/task/ProjectVICHashLookup.java`: `init` (VICS 1.3);
- fcgreg/VIC-CatParser `vic_catparser/parser.py`: `ijson.items(f, 'value.item')`;
- fjollberg/GriffeyePS `Modules/GriffeyeJsonParser/GriffeyeJsonParser.psm1`:
  `Get-GriffeyeMediaFromVics`;
- the OData model `Modules/GriffeyeJsonParser/Doc/ProjectVicDataModel.2.0.xml` (GriffeyePS):
  MODEL below is its EntityType/Property rules (Type, Nullable, Key), written out here.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import ijson

# -- the OData model (ProjectVicDataModel.2.0.xml) ---------------------------------------
# entity -> (key properties, {property: (Edm type, nullable)}, {navigation: target entity})
MODEL: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, bool]], dict[str, str]]] = {
    "AlternativeHash": (("MD5", "HashName"), {
        "MD5": ("Edm.String", False), "HashName": ("Edm.String", False), "HashValue": ("Edm.String", True)}, {}),
    "Case": (("CaseID",), {
        "CaseID": ("Edm.Guid", False), "CaseNumber": ("Edm.String", True), "ContactOrganization": ("Edm.String", True),
        "ContactName": ("Edm.String", True), "ContactPhone": ("Edm.String", True), "ContactEmail": ("Edm.String", True),
        "ContactTitle": ("Edm.String", True), "TotalMediaFiles": ("Edm.Int32", True),
        "TotalPrecategorized": ("Edm.Int32", True), "SeizureDate": ("Edm.DateTimeOffset", True),
        "SourceApplicationName": ("Edm.String", True), "SourceApplicationVersion": ("Edm.String", True)},
        {"CaseMetadata": "CaseMetadata", "Media": "Media", "Identifiers": "Identifier"}),
    "Exif": (("MD5", "PropertyName"), {
        "MD5": ("Edm.String", False), "PropertyName": ("Edm.String", False), "PropertyValue": ("Edm.String", True),
        "PropertyGroup": ("Edm.String", True)}, {}),
    "Media": (("MD5",), {
        "MD5": ("Edm.String", False), "MediaID": ("Edm.Int32", False), "Category": ("Edm.Byte", True),
        "SHA1": ("Edm.String", True), "VictimIdentified": ("Edm.Boolean", True),
        "OffenderIdentified": ("Edm.Boolean", True), "IsDistributed": ("Edm.Boolean", True),
        "Comments": ("Edm.String", True), "Tags": ("Edm.String", True), "Series": ("Edm.String", True),
        "MediaSize": ("Edm.Int64", True), "RelativeFilePath": ("Edm.String", True),
        "DateUpdated": ("Edm.DateTimeOffset", True), "IsPrecategorized": ("Edm.Boolean", False),
        "PrecategorizationSource": ("Edm.String", True), "IsSuspected": ("Edm.Boolean", True),
        "MimeType": ("Edm.String", True), "SelfGenerated": ("Edm.Boolean", True), "PhotoDNA": ("Edm.String", True)},
        {"AlternativeHashes": "AlternativeHash", "Exifs": "Exif", "MediaFiles": "MediaFile",
         "Repositories": "Repository", "Cases": "Case", "Segments": "Segment", "MediaMetadata": "MediaMetadata",
         "Identifiers": "Identifier"}),
    "MediaFile": (("MD5", "MediaFileID"), {
        "MD5": ("Edm.String", False), "MediaFileID": ("Edm.Int32", False), "FileName": ("Edm.String", True),
        "FilePath": ("Edm.String", True), "Created": ("Edm.DateTimeOffset", True),
        "Written": ("Edm.DateTimeOffset", True), "Accessed": ("Edm.DateTimeOffset", True),
        "Unallocated": ("Edm.Boolean", True), "SourceID": ("Edm.String", True), "PhysicalLocation": ("Edm.Int64", True),
        "Deleted": ("Edm.Boolean", True), "ParentMD5": ("Edm.String", True), "ParentFileName": ("Edm.String", True),
        "ParentFilePath": ("Edm.String", True), "ParentPhysicalLocation": ("Edm.Int64", True)}, {}),
    "Segment": (("MD5", "SegmentIndex"), {
        "MD5": ("Edm.String", False), "SegmentIndex": ("Edm.Int32", False), "Start": ("Edm.String", True),
        "End": ("Edm.String", True), "Category": ("Edm.Byte", False)}, {}),
}
_INT_RANGE = {"Edm.Byte": (0, 255), "Edm.Int32": (-2**31, 2**31 - 1), "Edm.Int64": (-2**63, 2**63 - 1)}
_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?(Z|[+-]\d\d:\d\d)$")


def model_errors(obj: dict, entity: str, where: str = "") -> list[str]:
    """Every way `obj` breaks the model's rules for `entity` (types, nullability, unknown
    properties, key uniqueness in its collections)."""
    keys, props, nav = MODEL[entity]
    where = where or entity
    errs = []
    for name, value in obj.items():
        if name in nav:
            if not isinstance(value, list):
                errs.append(f"{where}.{name} is not a collection")
                continue
            target = nav[name]
            seen = set()
            for n, child in enumerate(value):
                if not isinstance(child, dict):
                    errs.append(f"{where}.{name}[{n}] is not an entity")
                    continue
                errs += model_errors(child, target, f"{where}.{name}[{n}]")
                k = tuple(child.get(p) for p in MODEL[target][0]) if target in MODEL else None
                if k is not None and k in seen:
                    errs.append(f"{where}.{name}[{n}] repeats the key {k}")
                seen.add(k)
            continue
        if name not in props:
            if name.startswith("@") and "." in name:
                continue  # an OData instance annotation (@namespace.term): allowed on any entity
            errs.append(f"{where}.{name} is not a property of {entity}")
            continue
        edm, nullable = props[name]
        if value is None:
            if not nullable:
                errs.append(f"{where}.{name} is null but not nullable")
            continue
        if edm == "Edm.String" and not isinstance(value, str):
            errs.append(f"{where}.{name} should be a string: {value!r}")
        elif edm == "Edm.Boolean" and not isinstance(value, bool):
            errs.append(f"{where}.{name} should be a boolean: {value!r}")
        elif edm in _INT_RANGE:
            lo, hi = _INT_RANGE[edm]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                errs.append(f"{where}.{name} should be an {edm}: {value!r}")
        elif edm == "Edm.Guid":
            try:
                ok = isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
            except ValueError:
                ok = False
            if not ok:
                errs.append(f"{where}.{name} should be a GUID: {value!r}")
        elif edm == "Edm.DateTimeOffset":
            if not (isinstance(value, str) and _OFFSET.match(value)):
                errs.append(f"{where}.{name} should be an ISO 8601 time with an offset: {value!r}")
    for k in keys:
        if obj.get(k) is None:
            errs.append(f"{where} lacks its key {k}")
    for name, (edm, nullable) in props.items():
        if not nullable and name not in obj:
            errs.append(f"{where} lacks the non-nullable {name}")
    return errs


# -- a Jackson-like token stream over ijson's events --------------------------------------
START_OBJECT, END_OBJECT, START_ARRAY, END_ARRAY, FIELD_NAME = "START_OBJECT", "END_OBJECT", "START_ARRAY", "END_ARRAY", "FIELD_NAME"
_TOKENS = {"start_map": START_OBJECT, "end_map": END_OBJECT, "start_array": START_ARRAY, "end_array": END_ARRAY,
           "map_key": FIELD_NAME, "string": "VALUE_STRING", "boolean": None, "null": "VALUE_NULL", "number": None}


class JsonParser:
    """The subset of com.fasterxml.jackson.core.JsonParser that IPED's readers call."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "rb")
        self._events = ijson.basic_parse(self._f, use_float=True)
        self._stack: list[list] = []  # [kind, current field name]
        self.token = None
        self.value = None
        self._name = None

    def next_token(self):
        try:
            event, value = next(self._events)
        except StopIteration:
            self.token = None
            return None
        tok = _TOKENS[event]
        if event == "boolean":
            tok = "VALUE_TRUE" if value else "VALUE_FALSE"
        elif event == "number":
            tok = "VALUE_NUMBER_INT" if isinstance(value, int) else "VALUE_NUMBER_FLOAT"
        top = self._stack[-1] if self._stack else None
        if tok in (START_OBJECT, START_ARRAY):
            self._name = top[1] if top and top[0] == "object" else None
            self._stack.append(["object" if tok == START_OBJECT else "array", None])
        elif tok in (END_OBJECT, END_ARRAY):
            self._stack.pop()
            parent = self._stack[-1] if self._stack else None
            self._name = parent[1] if parent and parent[0] == "object" else None
        elif tok == FIELD_NAME:
            top[1] = value
            self._name = value
        else:
            self._name = top[1] if top and top[0] == "object" else None
        self.token, self.value = tok, value
        return tok

    def current_name(self):
        return self._name

    def next_text_value(self):
        return self.value if self.next_token() == "VALUE_STRING" else None

    def next_int_value(self, default: int) -> int:
        return self.value if self.next_token() == "VALUE_NUMBER_INT" else default

    def next_field_name(self):
        return self.value if self.next_token() == FIELD_NAME else None

    def close(self) -> None:
        self._f.close()


class JavaNullPointer(Exception):
    """Where the Java code would throw a NullPointerException (and abort the import)."""


def _trim(s):
    if s is None:
        raise JavaNullPointer("nextTextValue() returned null")
    return s.strip()


def _value_array(jp: JsonParser):
    """The `do { ... } while (arrayDepth > 0)` loop both IPED readers run over `value`:
    array starts and ends move the depth; every other token is yielded with it. Tokens the
    caller consumes itself (nextToken/nextTextValue) never move the depth, as in Java."""
    depth = 0
    while True:
        token = jp.next_token()
        if token is None:
            raise ValueError("unexpected end of input")
        if token == START_ARRAY:
            depth += 1
        elif token == END_ARRAY:
            depth -= 1
        else:
            yield token, depth
        if depth <= 0:
            return


# -- IPED HashDBTool -----------------------------------------------------------------------
VIC13_KEY, VIC13_VALUE = "odata.metadata", "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"
VIC20_KEY, VIC20_VALUE = "@odata.context", "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
VIC_STATUS = ("known", "pedo", "pedo")  # vicStatusPropertyValues, by category
PHOTO_DNA_BASE64_LEN = 192
_HASH_BYTES = {"md5": 16, "sha1": 20}


def check_data_model(key, value) -> bool:
    """HashDBTool.checkDataModel for FileType.PROJECT_VIC (equalsIgnoreCase on both)."""
    eq = lambda a, b: a is not None and b is not None and a.lower() == b.lower()  # noqa: E731
    return (eq(VIC13_KEY, key) and eq(VIC13_VALUE, value)) or (eq(VIC20_KEY, key) and eq(VIC20_VALUE, value))


def is_known_json(path: Path) -> bool:
    """HashDBTool.isKnownJson: the first member decides whether the file is Project VIC."""
    if path.read_bytes()[:3] == b"\xef\xbb\xbf":
        return False  # read through a Reader: a BOM is a character before '{'
    jp = JsonParser(path)
    try:
        if jp.next_token() != START_OBJECT:
            return False
        if jp.next_token() != END_OBJECT:
            return check_data_model(jp.current_name(), jp.next_text_value())
        return False
    except ijson.JSONError:
        return False
    finally:
        jp.close()


@dataclass
class IpedRecord:
    hashes: dict = field(default_factory=dict)
    properties: dict = field(default_factory=dict)


def iped_hashdb_read(path: Path) -> list[IpedRecord]:
    """HashDBTool.readProjectVIC, token for token; raises where IPED fails the file."""
    jp = JsonParser(path)
    out: list[IpedRecord] = []
    try:
        if jp.next_token() != START_OBJECT:
            raise ValueError("Error: root JSON should be an object.")
        rec = IpedRecord()
        has_hash = False
        hash_name = None
        while jp.next_token() != END_OBJECT:
            if not check_data_model(jp.current_name(), jp.next_text_value()):
                raise ValueError("Error: Unknown ProjectVic JSON data model!")
            name = jp.next_field_name()
            if name is None:
                raise JavaNullPointer("nextFieldName() returned null")
            if name != "value":
                raise ValueError(f"Error: Unexpected property in ProjectVic JSON '{name}'.")
            for token, depth in _value_array(jp):
                if depth == 1:
                    n = jp.current_name()
                    ln = n.lower() if n else None
                    if token == START_OBJECT:
                        rec, has_hash = IpedRecord(), False
                    elif n == "Category":
                        cat = jp.next_int_value(-1)
                        if cat >= 0:
                            rec.properties["vicCategory"] = str(cat)
                            if cat < len(VIC_STATUS):
                                rec.properties["status"] = VIC_STATUS[cat]
                    elif ln in ("md5", "sha1"):
                        value = _trim(jp.next_text_value())
                        ok = re.fullmatch(r"[0-9a-fA-F]+", value) and len(value) == 2 * _HASH_BYTES[ln]
                        rec.hashes[ln] = value.lower() if ok else None
                        has_hash = True
                    elif ln == "photodna":
                        v = jp.next_text_value()
                        if v is not None and len(v.strip()) == PHOTO_DNA_BASE64_LEN:
                            rec.properties["photoDna"] = v.strip()
                    elif ln in ("victimidentified", "offenderidentified", "isdistributed", "series",
                                "isprecategorized", "tags"):
                        token = jp.next_token()
                        value = None
                        if token == "VALUE_STRING":
                            value = jp.value.replace("|", " ").strip()
                            if value.lower() in ("true", "false"):
                                value = value.lower()
                        elif token == "VALUE_TRUE":
                            value = "true"
                        elif token == "VALUE_FALSE":
                            value = "false"
                        if value:
                            rec.properties["vic" + n] = value
                    elif token == END_OBJECT:
                        if has_hash and rec.properties:
                            rec.properties["set"] = "ProjectVIC"
                            out.append(rec)
                            has_hash = False
                            hash_name = None
                elif depth == 2:
                    n = jp.current_name()
                    if n and n.lower() == "hashname":
                        hash_name = jp.next_text_value()
                        hash_name = hash_name.strip() if hash_name else None
                    elif n and n.lower() == "hashvalue" and (hash_name or "").lower() == "photodna":
                        v = jp.next_text_value()
                        if v is not None and len(v.strip()) == PHOTO_DNA_BASE64_LEN:
                            rec.properties["photoDna"] = v.strip()
        return out
    finally:
        jp.close()


# -- IPED ProjectVICHashLookup (VICS 1.3 only) ----------------------------------------------
def iped_lookup_read(path: Path, md5: bool = True) -> list[dict]:
    """ProjectVICHashLookup.init's parse loop: category, hash and the three flags per entry."""
    jp = JsonParser(path)
    out: list[dict] = []
    try:
        if jp.next_token() != START_OBJECT:
            raise ValueError("Error: root should be object: quiting.")
        while jp.next_token() != END_OBJECT:
            if jp.current_name() != "odata.metadata" or jp.next_text_value() != VIC13_VALUE:
                raise ValueError("Unknown ProjectVic json data model!")
            if jp.next_field_name() != "value":
                raise ValueError(f"Unexpected property in ProjectVic json: {jp.current_name()}")
            ve: dict | None = None
            for token, depth in _value_array(jp):
                if depth == 1:
                    n = jp.current_name()
                    if token == START_OBJECT:
                        ve = {"category": 0, "victimIdentified": False, "ofenderIdentified": False,
                              "isDistributed": False, "hash": None}
                    elif n == "Category":
                        ve["category"] = jp.next_int_value(-1)
                    elif md5 and n == "MD5" or not md5 and n == "SHA1":
                        ve["hash"] = _trim(jp.next_text_value())
                    elif n == "VictimIdentified":
                        ve["victimIdentified"] = (jp.next_text_value() or "").lower() == "true"  # Boolean.valueOf
                    elif n == "OffenderIdentified":
                        ve["ofenderIdentified"] = (jp.next_text_value() or "").lower() == "true"
                    elif n == "IsDistributed":
                        ve["isDistributed"] = (jp.next_text_value() or "").lower() == "true"
                    elif n == "Series":
                        ve["series"] = jp.next_text_value()
                    elif token == END_OBJECT and ve is not None and ve["hash"] is not None:
                        out.append(ve)
        return out
    finally:
        jp.close()


# -- fcgreg/VIC-CatParser -------------------------------------------------------------------
def catparser_items(path: Path, category: int | None = None) -> list[dict]:
    """VICParser.stream_items: `value.item` objects whose Category equals `category`."""
    with open(path, "rb") as f:
        return [i for i in ijson.items(f, "value.item")
                if category is None or (isinstance(i, dict) and i.get("Category") == category)]


def catparser_context(path: Path) -> str | None:
    with open(path, "rb") as f:
        for prefix, _event, value in ijson.parse(f):
            if prefix == "@odata.context":
                return value
    return None


# -- fjollberg/GriffeyePS Get-GriffeyeMediaFromVics ----------------------------------------
def griffeye_media(path: Path) -> list[dict]:
    """The Scanning/Media/Done state machine: a "Media" property, or an @odata.context
    ending in "#Media", switches to Media; then the `value` array's objects are emitted."""
    with open(path, "rb") as f:
        state = "scanning"
        events = ijson.parse(f)
        for prefix, event, value in events:
            if state == "scanning" and event == "map_key":
                if value == "Media":
                    state = "media"
                elif value == "@odata.context":
                    _p, _e, ctx = next(events)
                    if str(ctx).endswith("#Media"):
                        state = "media"
            elif state == "media":
                if event == "map_key" and value == "value":
                    continue
                if event == "start_array":
                    base = prefix + ".item" if prefix else "item"
                    return _collect(events, base)
                raise ValueError(f"Unexpected data. {event}: {value!r}")
    return []


def _collect(events, base: str) -> list[dict]:
    items, builder = [], None
    for prefix, event, value in events:
        if prefix == base and event == "start_map":
            builder = ijson.ObjectBuilder()
        if builder is not None:
            builder.event(event, value)
            if prefix == base and event == "end_map":
                items.append(builder.value)
                builder = None
        elif event == "end_array" and prefix == base[: -len(".item")]:
            break
    return items
