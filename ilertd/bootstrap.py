"""The first admin: created once, on the first start, with a known or generated API key."""

from __future__ import annotations

import sys
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


def _tell_operator(key: str, listen: str) -> None:
    """The one place a key is shown: plainly on stdout, never through the logger."""
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


async def ensure_admin(repository: Repository, configured_key: str, listen: str) -> bool:
    """Create the admin on first start; True if this call created it."""
    if await repository.store.stream_version(BOOTSTRAP_ADMIN_ID) > 0:
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
        _tell_operator(key, listen)
    return True
