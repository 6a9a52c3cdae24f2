"""The first admin: created once, on the first start, with a known or generated API key."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from uuid import UUID, uuid4, uuid5

import structlog

from eventstore import ConcurrencyError
from eventstore.repository import Repository

from .domain.user import Role, User
from .security import generate_api_key, hash_api_key

log = structlog.get_logger(__name__)

#: A fixed stream id makes "create the first admin" a single append that only one of several
#: instances starting at once can win (expected version 0).
BOOTSTRAP_ADMIN_ID = uuid5(UUID("6f1e6c1e-8c8e-4a53-9b8e-2f3f2d1c0a11"), "bootstrap-admin")


#: Where a generated admin key goes when no terminal is there to show it to (under systemd
#: stdout is the journal, which every member of adm/systemd-journal may read).
KEY_FILE_NAME = "admin-api-key"


def _tell_operator(key: str, listen: str, key_file: Path) -> None:
    """The one place a key is shown: on the terminal when there is one, else in a file only
    the daemon's user and root may read; never through the logger or into the journal."""
    if not sys.stdout.isatty():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(key + "\n")
        log.warning(
            "admin user created; its generated API key is in the key file (read it, then "
            "delete the file)",
            key_file=str(key_file),
        )
        return
    host, _, port = listen.rpartition(":")
    sys.stdout.write(
        "\n"
        "ilertd created the admin user. Its API key, shown only this once:\n"
        f"\n    {key}\n\n"
        "Use it as a Bearer token, for example:\n"
        f"    curl -H 'Authorization: Bearer {key}' http://{host}:{port}/api/users/current\n"
        "Set ILERTD_ADMIN_API_KEY before the first start to choose the key yourself.\n\n"
    )
    sys.stdout.flush()


async def ensure_admin(
    repository: Repository, configured_key: str, listen: str, key_file: Path
) -> bool:
    """Create the admin on first start; True if this call created it. A generated key is
    shown once (``_tell_operator``)."""
    if await repository.store.stream_version(BOOTSTRAP_ADMIN_ID) > 0:
        if configured_key:
            admin: User = await repository.load(BOOTSTRAP_ADMIN_ID)
            if hash_api_key(configured_key) not in admin.api_keys.values():
                log.warning(
                    "ILERTD_ADMIN_API_KEY ignored: the admin user exists, and the setting "
                    "only chooses the key of the very first start; `ilertd admin reset-key` "
                    "issues a new one"
                )
        return False
    key = configured_key or generate_api_key()
    admin = User(
        username="admin",
        email="admin@localhost",
        role=Role.ADMIN.value,
        first_name="Admin",
        id=BOOTSTRAP_ADMIN_ID,
    )
    admin.issue_api_key(uuid4(), hash_api_key(key), "bootstrap")
    try:
        await repository.save(admin, metadata={"actor": "system:bootstrap"})
    except ConcurrencyError:
        return False  # another instance won the race
    log.info("admin user created", generated_key=not configured_key)
    if not configured_key:
        _tell_operator(key, listen, key_file)
    return True


class NoAdminError(Exception):
    """The database has no bootstrap admin yet (ilertd never started on it)."""


async def reset_admin_key(repository: Repository) -> str:
    """Revoke every key of the bootstrap admin and issue a new one; the new key (shown to
    the operator once, stored only as its hash). The way back from a lost admin key."""
    if await repository.store.stream_version(BOOTSTRAP_ADMIN_ID) == 0:
        raise NoAdminError
    admin: User = await repository.load(BOOTSTRAP_ADMIN_ID)
    revoked = list(admin.api_keys)
    for key_id in revoked:
        admin.revoke_api_key(key_id)
    key = generate_api_key()
    admin.issue_api_key(uuid4(), hash_api_key(key), "reset-key")
    await repository.save(admin, metadata={"actor": "system:reset-key"})
    log.info("admin API key reset", revoked=len(revoked))
    return key
