"""Sealed CPR numbers for the Kafka ingress: the key pair, sealing, opening.

A fagsystem seals each CPR to the platform's public key (a libsodium sealed box: an
ephemeral X25519 key, XSalsa20-Poly1305), so the CPR never lies in plaintext on a topic,
where every broker admin, mirror and backup could read it. Only ingest holds the private
key; it opens the box, pseudonymises, and forgets the plaintext.

Nothing here puts a CPR, a sealed CPR or a key in an exception message.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from kommunepuls.config import ConfigError, Settings

ALGORITHM = "libsodium sealed box, X25519-XSalsa20-Poly1305"
KEY_FILE = "ingress-key"
PUBLIC_SUFFIX = ".pub"
# A sealed 10-digit CPR is 58 bytes (32 ephemeral key + 16 tag + 10), 80 in base64; this
# bound refuses a huge value before any work is done on it.
MAX_SEALED_CHARS = 256


class SealingError(Exception):
    """Root of failures to seal or open a CPR."""


class UnsealError(SealingError):
    """A sealed CPR is not base64, not sealed to our key, or tampered with."""


def key_file_path(data_dir: Path, key_file: Path | None = None) -> Path:
    """Where the private key lives: the configured file, else `<data_dir>/ingress-key`."""
    return key_file if key_file is not None else data_dir / KEY_FILE


def encode_key(key: PrivateKey | PublicKey) -> str:
    return base64.b64encode(bytes(key)).decode("ascii")


def decode_private_key(text: str) -> PrivateKey:
    """A base64 X25519 private key (32 bytes), as in the key file and the variable."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("the ingress private key is not base64") from None
    if len(raw) != PrivateKey.SIZE:
        raise ConfigError(f"the ingress private key must be {PrivateKey.SIZE} bytes")
    return PrivateKey(raw)


def decode_public_key(key: PublicKey | bytes | str) -> PublicKey:
    """The platform's public key as served by GET /v1/ingest-key (base64), raw or parsed."""
    if isinstance(key, PublicKey):
        return key
    raw = base64.b64decode(key, validate=True) if isinstance(key, str) else key
    if len(raw) != PublicKey.SIZE:
        raise ValueError(f"a public key is {PublicKey.SIZE} bytes")
    return PublicKey(raw)


def write_key_pair(path: Path, *, replace: bool = False) -> PrivateKey:
    """Generate a key pair into `path` (private, mode 0600) and `path.pub` (public).

    The private key is written to a temporary file created 0600 and linked into place, so
    no reader ever sees a half-written or briefly world-readable key, and two processes
    starting at once (embedded profile) end up with the same key: the loser reads the
    winner's.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    key = PrivateKey.generate()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(encode_key(key) + "\n")
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)
            except FileExistsError:
                key = read_key_file(path)
    finally:
        temporary.unlink(missing_ok=True)
    public = path.with_name(path.name + PUBLIC_SUFFIX)
    public.write_text(encode_key(key.public_key) + "\n")
    return key


def read_key_file(path: Path) -> PrivateKey:
    # Like ssh: a private key others can read is treated as leaked, not used.
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise ConfigError(f"{path} is readable by others; chmod 600 it (or make a new key)")
    return decode_private_key(path.read_text())


def ingress_private_key(settings: Settings) -> PrivateKey:
    """The key that opens sealed CPRs: the variable, else the key file, else (embedded
    profile only) a key generated into the key file."""
    if settings.ingress_private_key is not None:
        return decode_private_key(settings.ingress_private_key.get_secret_value())
    path = key_file_path(settings.data_dir, settings.ingress_key_file)
    if path.exists():
        return read_key_file(path)
    if settings.profile == "embedded":
        return write_key_pair(path)
    raise ConfigError(
        "the Kafka ingress needs its private key: set KOMMUNEPULS_INGRESS_PRIVATE_KEY, or run "
        f"`kommunepuls keys` to create {path}, or set KOMMUNEPULS_INGRESS_ENABLED=false")


def seal_cpr(public_key: PublicKey, cpr: str) -> str:
    """The CPR sealed to the platform (base64): only the private key's holder can open it."""
    return base64.b64encode(SealedBox(public_key).encrypt(cpr.encode("ascii"))).decode("ascii")


class Opener:
    """Opens sealed CPRs with the platform's private key."""

    def __init__(self, private_key: PrivateKey) -> None:
        self._box = SealedBox(private_key)
        self.public_key = private_key.public_key

    def open(self, sealed: object) -> str:
        if not isinstance(sealed, str) or not 0 < len(sealed) <= MAX_SEALED_CHARS:
            raise UnsealError("cpr_sealed must be a base64 string")
        try:
            raw = base64.b64decode(sealed, validate=True)
        except (binascii.Error, ValueError):
            raise UnsealError("cpr_sealed is not base64") from None
        try:
            plain = self._box.decrypt(raw)
        except CryptoError:
            raise UnsealError("cpr_sealed cannot be opened with the platform's key "
                              "(sealed to another key, or altered)") from None
        try:
            return plain.decode("ascii")
        except UnicodeDecodeError:
            raise UnsealError("cpr_sealed does not hold a CPR number") from None
