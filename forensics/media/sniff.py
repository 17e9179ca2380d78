"""Identify a file's type from its content, never from its name."""
from __future__ import annotations

from dataclasses import dataclass

HEAD_BYTES = 64
SNIFF_BYTES = 1024  # what callers should pass: enough for three MPEG-TS packets
_TS, _M2TS = 188, 192
_BMP_DIB_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


@dataclass(frozen=True)
class FileType:
    mime: str
    kind: str  # "image", "video", "other"
    extensions: tuple[str, ...]


def _t(mime: str, kind: str, *exts: str) -> FileType:
    return FileType(mime, kind, exts)


JPEG = _t("image/jpeg", "image", ".jpg", ".jpeg", ".jpe", ".jfif")
PNG = _t("image/png", "image", ".png")
GIF = _t("image/gif", "image", ".gif")
BMP = _t("image/bmp", "image", ".bmp", ".dib")
TIFF = _t("image/tiff", "image", ".tif", ".tiff", ".dng", ".nef", ".cr2", ".arw")
WEBP = _t("image/webp", "image", ".webp")
HEIC = _t("image/heic", "image", ".heic", ".heif", ".hif")
AVIF = _t("image/avif", "image", ".avif")
MP4 = _t("video/mp4", "video", ".mp4", ".m4v", ".mov", ".3gp", ".3g2")
MOV = _t("video/quicktime", "video", ".mov", ".qt", ".mp4")
GPP = _t("video/3gpp", "video", ".3gp", ".3g2", ".mp4")
AVI = _t("video/x-msvideo", "video", ".avi")
MKV = _t("video/x-matroska", "video", ".mkv", ".webm")
H264 = _t("video/h264", "video", ".h264", ".264", ".avc")
MPEGTS = _t("video/mp2t", "video", ".ts", ".mts", ".m2ts")
MPEGPS = _t("video/mpeg", "video", ".mpg", ".mpeg", ".vob")
ASF = _t("video/x-ms-asf", "video", ".wmv", ".asf")
FLV = _t("video/x-flv", "video", ".flv")
PDF = _t("application/pdf", "other", ".pdf")
ZIP = _t("application/zip", "other", ".zip", ".docx", ".xlsx", ".pptx", ".odt", ".apk", ".jar")
TEXT = _t("text/plain", "other", ".txt", ".log", ".csv", ".md", ".json", ".xml", ".html", ".htm", ".ini", ".cfg")
SQLITE = _t("application/vnd.sqlite3", "other", ".sqlite", ".db", ".sqlite3")
EMPTY = _t("application/x-empty", "other")
UNKNOWN = _t("application/octet-stream", "other")

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


def sniff(head: bytes) -> FileType:
    """Return the type of a file from its first bytes (at least HEAD_BYTES if available)."""
    if not head:
        return EMPTY
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head.startswith(b"BM") and _bmp_header(head):
        return BMP
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return AVI
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return HEIC
        if brand in _AVIF_BRANDS:
            return AVIF
        if brand.startswith(b"qt"):
            return MOV
        if brand.startswith(b"3g"):
            return GPP
        return MP4
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return MOV
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return MKV
    if head.startswith(b"\x00\x00\x00\x01") or head.startswith(b"\x00\x00\x01"):
        # Annex-B start code: raw H.264 if the first NAL is an SPS/AUD/SEI, else MPEG-PS.
        off = 4 if head[2] == 0 else 3
        if head.startswith(b"\x00\x00\x01\xba"):
            return MPEGPS
        if len(head) > off and (head[off] & 0x1F) in (1, 5, 6, 7, 9):
            return H264
    if _ts_sync(head, 0, _TS) or _ts_sync(head, 4, _M2TS):
        return MPEGTS
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return ASF
    if head.startswith(b"FLV\x01"):
        return FLV
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return ZIP
    if head.startswith(b"SQLite format 3\x00"):
        return SQLITE
    if _looks_like_text(head):
        return TEXT
    return UNKNOWN


def _ts_sync(head: bytes, first: int, packet: int) -> bool:
    """MPEG transport stream: the sync byte 0x47 at the start of at least two consecutive
    packets (and of every further packet in `head`). A lone "G" is not a video."""
    offsets = range(first, len(head), packet)
    return len(offsets) >= 2 and len(head) > first + packet and all(head[o] == 0x47 for o in offsets)


def _bmp_header(head: bytes) -> bool:
    """A plausible BITMAPFILEHEADER + DIB header: known header size, one plane, a real bit
    depth, non-zero width and height, pixel data after the headers."""
    if len(head) < 30:
        return False
    le = int.from_bytes
    offset, dib = le(head[10:14], "little"), le(head[14:18], "little")
    if dib not in _BMP_DIB_SIZES or offset < 14 + dib and offset != 0:
        return False
    if dib == 12:
        width, height, planes, bpp = le(head[18:20], "little"), le(head[20:22], "little"), \
            le(head[22:24], "little"), le(head[24:26], "little")
    else:
        width, height = le(head[18:22], "little", signed=True), le(head[22:26], "little", signed=True)
        planes, bpp = le(head[26:28], "little"), le(head[28:30], "little")
    return planes == 1 and bpp in (1, 2, 4, 8, 16, 24, 32, 64) and width > 0 and height != 0


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a multi-byte character cut at the end is fine
            return False
        text = head[: exc.start].decode("utf-8")
    return all(c.isprintable() or c in "\r\n\t\f" for c in text)


def extension_mismatch(ftype: FileType, name: str) -> bool:
    """True when a recognised type carries an extension that belongs to another type."""
    if ftype in (UNKNOWN, EMPTY, TEXT):
        return False
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot > 0 else ""
    return ext not in ftype.extensions
