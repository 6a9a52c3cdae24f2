"""Users and their API keys. Keys are stored only as hashes (see ilertd.security)."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .errors import DomainError


class Role(StrEnum):
    ADMIN = "ADMIN"
    USER = "USER"
    RESPONDER = "RESPONDER"
    STAKEHOLDER = "STAKEHOLDER"
    GUEST = "GUEST"


class User(Aggregate):
    @event("Registered")
    def __init__(
        self,
        username: str,
        email: str,
        role: str,
        first_name: str = "",
        last_name: str = "",
        timezone: str = "UTC",
        language: str = "en",
        id: UUID | None = None,  # noqa: A002 - eventsourcing's hook for a chosen stream id
    ) -> None:
        self.username = username
        self.email = email
        self.role = Role(role)
        self.first_name = first_name
        self.last_name = last_name
        self.timezone = timezone
        self.language = language
        self.api_keys: dict[UUID, str] = {}

    def issue_api_key(self, key_id: UUID, key_hash: str, label: str) -> None:
        if key_id in self.api_keys:
            raise DomainError(f"API key {key_id} already exists")
        self._api_key_issued(key_id=key_id, key_hash=key_hash, label=label)

    @event("ApiKeyIssued")
    def _api_key_issued(self, key_id: UUID, key_hash: str, label: str) -> None:
        self.api_keys[key_id] = key_hash

    def revoke_api_key(self, key_id: UUID) -> None:
        if key_id not in self.api_keys:
            raise DomainError(f"API key {key_id} does not exist")
        self._api_key_revoked(key_id=key_id)

    @event("ApiKeyRevoked")
    def _api_key_revoked(self, key_id: UUID) -> None:
        del self.api_keys[key_id]
