"""Connector and alert action secrets sealed at rest (Fernet: AES-128-CBC plus HMAC-SHA256).

Their settings (webhook URLs with credentials, header values, API tokens, chat webhook URLs)
would otherwise be plain JSON in the events table and in the connectors/alert_actions read
models, so in every database dump. The event mapper seals the designated fields on write and
unseals them on read into aggregates, so the domain keeps working on plaintext; projections
copy the sealed form into the read models, unsealed at their one decode point
(``projections.outbound_config.decoded``).

The keys live outside the database, or a dump would carry them along: ``ILERTD_SECRETS_KEYS``
(comma-separated) or a key file (``secrets.key_file``, default ``<data_dir>/secrets.key``,
one key a line, made with one new key on first start). The first key seals, every key
unseals, so ``ilertd secrets rotate`` (a new key in front) changes what new writes use while
old events, which are immutable, still open. A sealed value is a string starting with
``sealed:``, so older plaintext events pass through unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import structlog
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .config import Config

log = structlog.get_logger(__name__)

#: Marks a sealed value: what follows is a Fernet token of the value's JSON.
PREFIX = "sealed:"

#: Event type -> the fields of its data that are sealed. Whole ``params`` objects: no query
#: filters on their content (the read model's SQL reads name, trigger mode, sources and
#: connector id only), and a credential added to them later is sealed without a change here.
SEALED_FIELDS: dict[str, tuple[str, ...]] = {
    "connector-created": ("params",),
    "connector-updated": ("params",),
    "alert-action-created": ("params", "signing_secret"),
    "alert-action-updated": ("params",),
}

KEYS_ENV = "ILERTD_SECRETS_KEYS"
#: How errors name the setting (the environment variable or the file's ``secrets.keys``).
KEYS_SETTING = f"{KEYS_ENV} (secrets.keys)"
KEY_FILE_NAME = "secrets.key"


class SealingError(RuntimeError):
    """Keys that cannot be used, or a sealed value none of them opens."""


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def new_key() -> str:
    return Fernet.generate_key().decode()


def fingerprint(key: str) -> str:
    """Names a key in output and logs without showing it."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def parse_keys(text: str, source: str) -> list[str]:
    """Keys from comma- or line-separated text; ``#`` starts a comment line."""
    keys = []
    for line in text.replace(",", "\n").splitlines():
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        try:
            Fernet(item.encode())
        except ValueError:
            raise SealingError(
                f"{source}: key {len(keys) + 1} is not a Fernet key (32 url-safe base64 bytes; "
                "`ilertd secrets rotate` makes one)"
            ) from None
        keys.append(item)
    if not keys:
        raise SealingError(f"{source}: no key in it")
    return keys


class Sealer:
    """Seals with the first key, unseals with any; ``source`` names where the keys are
    set, for errors. With a key ``path``, a value no key opens makes it read the file again
    if it changed: an instance that rotated (and a copy of its file) is then understood by
    the others before they restart."""

    def __init__(self, keys: Sequence[str], source: str, path: Path | None = None) -> None:
        if not keys:
            raise SealingError(f"{source}: no key")
        self.source = source
        self._path = path
        self._stamp = _stamp(path)
        self._use(keys)

    def _use(self, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)
        self._fernets = [Fernet(key.encode()) for key in self.keys]
        self._multi = MultiFernet(self._fernets)

    def _reloaded(self) -> bool:
        """Whether the key file changed since it was read, and its keys are now used."""
        stamp = _stamp(self._path)
        if self._path is None or stamp is None or stamp == self._stamp:
            return False
        try:
            keys = parse_keys(self._path.read_text(), self.source)
        except (OSError, SealingError) as exc:
            log.warning("the changed key file cannot be used; keeping the keys", error=str(exc))
            return False
        self._stamp = stamp
        self._use(keys)
        log.info("sealing keys reloaded", source=self.source, keys=list(self.fingerprints))
        return True

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(fingerprint(key) for key in self.keys)

    def fields_of(self, event_type: str) -> tuple[str, ...]:
        return SEALED_FIELDS.get(event_type, ())

    def seal(self, value: Any) -> str:
        """Any JSON value as a sealed string (a new random IV each time)."""
        return PREFIX + self._multi.encrypt(orjson.dumps(value)).decode()

    def unseal(self, value: Any, where: str) -> Any:
        """The plaintext of a sealed value; anything else (an older plaintext event) as is.
        ``where`` names the value in the error when no key opens it."""
        if not is_sealed(value):
            return value
        token = value[len(PREFIX) :].encode()
        try:
            return orjson.loads(self._multi.decrypt(token))
        except InvalidToken:
            if self._reloaded():
                return self.unseal(value, where)
            raise SealingError(
                f"{where} is sealed with a key that is not in {self.source} "
                f"(keys there: {', '.join(self.fingerprints)}); add the key it was sealed "
                "with (every process and instance on this database needs the same keys)"
            ) from None

    def key_index(self, value: str) -> int | None:
        """Which key opens a sealed value (0 seals), or None."""
        token = value[len(PREFIX) :].encode()
        for index, fernet in enumerate(self._fernets):
            with contextlib.suppress(InvalidToken):
                fernet.decrypt(token)
                return index
        return None


def _stamp(path: Path | None) -> tuple[int, int] | None:
    """What tells a changed file (rotate replaces it: a new inode), or None."""
    if path is None:
        return None
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns


# -- where the keys come from ---------------------------------------------------------------


def key_file(config: Config) -> Path:
    configured = config["secrets.key_file"]
    return Path(configured).expanduser() if configured else config.data_dir / KEY_FILE_NAME


def write_key_file(path: Path, keys: Sequence[str], *, exclusive: bool = False) -> None:
    """Keys to ``path``, mode 0600, atomically (a temporary file renamed over it), so a
    reader never sees half a file. ``exclusive``: fail with FileExistsError if it exists
    (two processes starting at once must not each make a key)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = "".join(f"{key}\n" for key in keys)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp makes it 0600
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(temporary, path)  # atomic and refuses an existing file
        else:
            os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def load_sealer(config: Config, *, create: bool = True) -> Sealer:
    """The keys of ``secrets.keys`` when set, else of the key file (made with one new key
    when ``create`` and it does not exist yet)."""
    if config["secrets.keys"]:
        return Sealer(parse_keys(config["secrets.keys"], KEYS_SETTING), KEYS_SETTING)
    path = key_file(config)
    source = f"the key file {path}"
    if create and not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it first
            write_key_file(path, [new_key()], exclusive=True)
    try:
        text = path.read_text()
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SealingError(f"{source} does not exist; set {KEYS_ENV} or create it") from None
    except OSError as exc:
        raise SealingError(f"{source} cannot be read: {exc.strerror}") from None
    if mode & 0o077:
        log.warning("the key file is readable by others: chmod 600 it", path=str(path))
    return Sealer(parse_keys(text, source), source, path)


def rotate(config: Config) -> str:
    """A new key in front of the key file's (new writes use it, old values still open);
    with keys from the environment nothing can be written: says what to set instead."""
    key = new_key()
    if config["secrets.keys"]:
        keys = parse_keys(config["secrets.keys"], KEYS_SETTING)
        return (
            f"The keys come from {KEYS_ENV}: set it to this (the new key first, the old ones "
            "kept) for every ilertd process on this database, then restart them:\n\n"
            f"    {KEYS_ENV}={','.join([key, *keys])}\n"
        )
    path = key_file(config)
    keys = load_sealer(config, create=False).keys
    write_key_file(path, [key, *keys])
    return (
        f"New key {fingerprint(key)} added in front of {path} ({len(keys)} older kept: they "
        "still open what they sealed). Copy the file to every instance on this database, "
        "then restart them (until then they read it again when a value does not open).\n"
    )


# -- what the database holds ------------------------------------------------------------------


async def sealed_values(conn: asyncpg.Pool | asyncpg.Connection) -> list[tuple[str, Any]]:
    """(where, value) of every designated field of every event that has them."""
    rows = await conn.fetch(
        "SELECT position, type, data::text AS data FROM events WHERE type = ANY($1::text[]) "
        "ORDER BY position",
        list(SEALED_FIELDS),
    )
    found = []
    for row in rows:
        data = orjson.loads(row["data"])
        for name in SEALED_FIELDS[row["type"]]:
            if name in data:
                found.append((f"event #{row['position']} ({row['type']}) {name}", data[name]))
    return found


async def census(sealer: Sealer, conn: asyncpg.Pool | asyncpg.Connection) -> dict[str, Any]:
    """How many sealed values each key opens, how many are plaintext (older events) and
    which no key opens."""
    opened = [0] * len(sealer.keys)
    plaintext, unopened = 0, []
    for where, value in await sealed_values(conn):
        if not is_sealed(value):
            plaintext += value is not None
            continue
        index = sealer.key_index(value)
        if index is None:
            unopened.append(where)
        else:
            opened[index] += 1
    return {
        "keys": list(zip(sealer.fingerprints, opened, strict=True)),
        "plaintext": plaintext,
        "unopened": unopened,
    }


async def verify(sealer: Sealer, conn: asyncpg.Pool | asyncpg.Connection) -> None:
    """At start: every sealed value opens, or SealingError naming the first that does not
    (an empty secret sent later would be a silent failure)."""
    for where, value in await sealed_values(conn):
        sealer.unseal(value, where)
