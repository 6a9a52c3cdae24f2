"""User aggregate rules."""

from __future__ import annotations

import uuid

import pytest

from ilertd.domain.errors import DomainError
from ilertd.domain.user import Role, User
from ilertd.security import generate_api_key, hash_api_key


def test_keys_are_issued_once_and_revoked_once() -> None:
    user = User(username="a", email="a@x", role="ADMIN")
    key_id = uuid.uuid4()
    user.issue_api_key(key_id, hash_api_key("k"), "cli")
    with pytest.raises(DomainError):
        user.issue_api_key(key_id, hash_api_key("k2"), "cli")
    user.revoke_api_key(key_id)
    with pytest.raises(DomainError):
        user.revoke_api_key(key_id)
    assert user.role is Role.ADMIN
    assert [type(e).__name__ for e in user.collect_events()] == [
        "Registered",
        "ApiKeyIssued",
        "ApiKeyRevoked",
    ]


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError):
        User(username="a", email="a@x", role="OWNER")


def test_api_keys_are_random_and_hashed() -> None:
    keys = {generate_api_key() for _ in range(100)}
    assert len(keys) == 100
    key = keys.pop()
    assert key.startswith("ilk_") and len(key) >= 40
    assert hash_api_key(key) == hash_api_key(key) != key
    assert len(hash_api_key(key)) == 64
