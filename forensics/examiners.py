"""Examiners' identities, kept outside every case: signing keys, witness files, the acting name.

Everything lives in the user's config folder (`$XDG_CONFIG_HOME/forensics`, else
`~/.config/forensics`), never in a case folder, so a person who can rewrite a case
cannot also rewrite the key that signed it or the witness that remembers its head:

- `keys/<examiner>.pem`: the examiner's Ed25519 private key, created on first use (0600).
- `witness/<examiner>.jsonl`: append-only lines of signed heads (case id, sequence
  number, head hash), one per audit entry that examiner wrote, in any case.
- `examiner.json`: the name the workbench last acted under for this OS user.
"""
from __future__ import annotations

import base64
import getpass
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SIGNED_HEAD_TAG = "FSH1"  # marks a signed head embedded in a report or export
_HEAD_RE = re.compile(rb"FSH1\.([A-Za-z0-9_-]+={0,2})")
_keys: dict[tuple[str, str], "ExaminerKey"] = {}
_keys_lock = threading.Lock()


def config_dir() -> Path:
    """The forensics folder in the user's config folder (XDG_CONFIG_HOME honoured)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "forensics"


def os_user() -> str:
    """The OS account name: who is acting when nobody said otherwise."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): the uid still identifies the account
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _slug(examiner: str) -> str:
    # file names must be safe for any name; the digest keeps "A B" and "A_B" apart
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", examiner).strip("._")[:40] or "examiner"
    return f"{safe}-{hashlib.sha256(examiner.encode('utf-8')).hexdigest()[:8]}"


def key_id_of(public_raw: bytes) -> str:
    """A short, stable fingerprint of an Ed25519 public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def verify_signature(public_hex: str, signature_hex: str, message: bytes) -> bool:
    """True when `signature_hex` is a valid Ed25519 signature of `message` by `public_hex`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(bytes.fromhex(signature_hex), message)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


@dataclass(frozen=True)
class ExaminerKey:
    examiner: str
    public_hex: str
    key_id: str
    _private: Any

    def sign(self, message: bytes) -> str:
        return self._private.sign(message).hex()


def examiner_key(examiner: str) -> ExaminerKey:
    """The examiner's signing key, created (0600, in a 0700 folder) on first use."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder = config_dir() / "keys"
    path = folder / f"{_slug(examiner)}.pem"
    with _keys_lock:
        cached = _keys.get((str(path), examiner))
        if cached is not None:
            return cached
        if path.is_file():
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise ValueError(f"{path} is not an Ed25519 key")
        else:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            private = Ed25519PrivateKey.generate()
            pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            try:
                os.link(tmp, path)  # never replace a key another process just created
            except FileExistsError:
                private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            finally:
                tmp.unlink(missing_ok=True)
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        key = ExaminerKey(examiner, raw.hex(), key_id_of(raw), private)
        _keys[(str(path), examiner)] = key
        return key


def local_key_id(examiner: str) -> str | None:
    """The key id of the examiner's key on this machine, without creating one."""
    from cryptography.hazmat.primitives import serialization

    path = config_dir() / "keys" / f"{_slug(examiner)}.pem"
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    return key_id_of(raw)


# -- signed heads and witness files ------------------------------------------------------
def head_message(case_id: str, seq: int, head: str) -> bytes:
    return f"forensics-head/1:{case_id}:{seq}:{head}".encode("utf-8")


def signed_head(key: ExaminerKey, case_id: str, seq: int, head: str, time_utc: str) -> dict:
    """A statement, signed by the examiner, that the case's audit log had `head` at `seq`."""
    return {"case_id": case_id, "seq": seq, "head": head, "time_utc": time_utc, "examiner": key.examiner,
            "key_id": key.key_id, "public_key": key.public_hex, "sig": key.sign(head_message(case_id, seq, head))}


def head_valid(h: dict) -> bool:
    try:
        return (key_id_of(bytes.fromhex(h["public_key"])) == h["key_id"]
                and verify_signature(h["public_key"], h["sig"], head_message(h["case_id"], int(h["seq"]), h["head"])))
    except (KeyError, TypeError, ValueError):
        return False


def encode_head(h: dict) -> str:
    """The signed head as one token (`FSH1.<base64url JSON>`) to embed in reports and exports."""
    raw = json.dumps(h, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return f"{SIGNED_HEAD_TAG}.{base64.urlsafe_b64encode(raw).decode('ascii')}"


def witness_path(examiner: str) -> Path:
    return config_dir() / "witness" / f"{_slug(examiner)}.jsonl"


def witness(heads: list[dict]) -> None:
    """Append signed heads to their examiners' witness files (append-only, one write each).

    Not fsynced, on purpose: the case database commits with synchronous=NORMAL, durable
    against a crash of the program but not a power cut, and a witness that outlived its
    entry would accuse an honest case of a cut-off. Both survive a killed program."""
    by_file: dict[Path, list[dict]] = {}
    for h in heads:
        by_file.setdefault(witness_path(h["examiner"]), []).append(h)
    for path, hs in by_file.items():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = "".join(json.dumps(h, sort_keys=True, separators=(",", ":")) + "\n" for h in hs).encode("utf-8")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def read_heads(path: str | os.PathLike, case_id: str | None = None) -> tuple[list[dict], list[str]]:
    """Signed heads from a witness file, a report (HTML, PDF, CSV) or a VICS export (only
    those of `case_id` from a witness file, when given: it holds every case's).

    Returns (heads, problems); a line or token that cannot be read is a problem, not an error."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        return [], [f"{p}: cannot read ({exc.strerror or exc})"]
    heads: list[dict] = []
    problems: list[str] = []
    tokens = _HEAD_RE.findall(data)
    if tokens:
        for t in tokens:
            try:
                heads.append(json.loads(base64.urlsafe_b64decode(t)))
            except ValueError:
                problems.append(f"{p}: an embedded signed head cannot be decoded")
    else:
        needle = case_id.encode("ascii", "replace") if case_id else b""
        for n, line in enumerate(data.splitlines(), 1):
            if not line.strip() or needle not in line:
                continue
            try:
                h = json.loads(line)
                if not isinstance(h, dict):
                    raise ValueError
                heads.append(h)
            except ValueError:
                problems.append(f"{p} line {n}: not a witness line")
    if not heads and not problems and not (case_id and not tokens):
        problems.append(f"{p}: holds no signed audit head")
    return heads, problems


def local_witness_files() -> list[Path]:
    folder = config_dir() / "witness"
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


# -- the acting examiner of the workbench ----------------------------------------------
def remembered_examiner() -> str | None:
    """The name this OS user last acted under in the workbench, if any."""
    try:
        name = json.loads((config_dir() / "examiner.json").read_text(encoding="utf-8")).get("examiner")
        return name.strip() if isinstance(name, str) and name.strip() else None
    except (OSError, ValueError, AttributeError):
        return None


def remember_examiner(name: str) -> None:
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = folder / f"examiner.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"examiner": name.strip()}), encoding="utf-8")
    os.replace(tmp, folder / "examiner.json")
