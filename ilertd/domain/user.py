"""Users and their API keys. Keys are stored only as hashes (see ilertd.security).

Commands check the rules, then trigger a past-tense event; handlers only change state, so
events written under older, looser rules still replay. ``InvalidValueError.field`` uses the
API's (camelCase) names: the HTTP layer answers 400 with them unchanged.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .errors import DomainError, InvalidValueError

#: Longest accepted text field: generous for names and emails, small enough for any index.
MAX_TEXT = 255
LANGUAGES = ("en", "de")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Role(StrEnum):
    """Highest first; ilertd.http.authz ranks them in this order."""

    ADMIN = "ADMIN"
    USER = "USER"
    RESPONDER = "RESPONDER"
    STAKEHOLDER = "STAKEHOLDER"
    GUEST = "GUEST"


@cache
def _zone_names() -> frozenset[str]:
    """IANA names known to zoneinfo; a set, so keys such as ``../x`` never touch files."""
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def _text(field: str, value: str, *, required: bool = True) -> str:
    """``value`` trimmed, or InvalidValueError: empty (when required), too long, control chars."""
    value = value.strip()
    if required and not value:
        raise InvalidValueError(field, "must not be empty")
    if len(value) > MAX_TEXT:
        raise InvalidValueError(field, f"must be at most {MAX_TEXT} characters, got {len(value)}")
    if _CONTROL.search(value):
        raise InvalidValueError(field, "must not contain control characters")
    return value


def _utc(field: str, moment: datetime | None) -> datetime | None:
    """``moment`` in UTC; it must carry an offset and stay within years 1..9999 in UTC."""
    if moment is None:
        return None
    if moment.utcoffset() is None:
        raise InvalidValueError(field, "needs a UTC offset, such as 2030-01-01T00:00:00Z")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidValueError(field, "is out of range (years 1 to 9999 in UTC)") from None


@dataclass(frozen=True, slots=True)
class Profile:
    """What an admin sets on a user. PUT replaces all of it, so everything but the three
    required fields has a default; an empty ``username`` means "the email"."""

    email: str
    first_name: str
    last_name: str
    username: str = ""
    role: str = Role.USER.value
    timezone: str = "UTC"
    language: str = "en"
    muted_until: datetime | None = None

    def checked(self) -> Profile:
        """Trimmed, username defaulted; InvalidValueError names the first bad field."""
        email = _text("email", self.email)
        if not _EMAIL.fullmatch(email):
            raise InvalidValueError("email", "must look like an email address (name@domain)")
        if self.role not in Role.__members__:
            raise InvalidValueError("role", f"must be one of {', '.join(Role)}")
        if self.timezone not in _zone_names():
            raise InvalidValueError("timezone", "must be an IANA time zone name (Europe/Berlin)")
        if self.language not in LANGUAGES:
            raise InvalidValueError("language", f"must be one of {', '.join(LANGUAGES)}")
        return replace(
            self,
            muted_until=_utc("mutedUntil", self.muted_until),
            email=email,
            first_name=_text("firstName", self.first_name),
            last_name=_text("lastName", self.last_name),
            username=_text("username", self.username, required=False) or email,
        )


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
        muted_until: datetime | None = None,
        id: UUID | None = None,  # noqa: A002 - eventsourcing's hook for a chosen stream id
    ) -> None:
        self.username = username
        self.email = email
        self.role = Role(role)
        self.first_name = first_name
        self.last_name = last_name
        self.timezone = timezone
        self.language = language
        self.muted_until = muted_until
        self.deleted = False
        self.api_keys: dict[UUID, str] = {}

    @classmethod
    def register(cls, profile: Profile) -> User:
        """A new user from a profile that passes the rules (bootstrap builds its admin
        directly, with a fixed id)."""
        return cls(**asdict(profile.checked()))

    @property
    def profile(self) -> Profile:
        return Profile(
            email=self.email,
            first_name=self.first_name,
            last_name=self.last_name,
            username=self.username,
            role=self.role.value,
            timezone=self.timezone,
            language=self.language,
            muted_until=self.muted_until,
        )

    def update(self, profile: Profile, *, other_admins: int, is_bootstrap: bool = False) -> None:
        """Replace the whole profile. ``other_admins`` counts the live ADMINs besides this
        user (from the read model): the bootstrap admin and the last ADMIN keep their role."""
        self._check_not_deleted()
        profile = profile.checked()
        if self.role is Role.ADMIN and profile.role != Role.ADMIN:
            _check_admin_may_go("demoted", other_admins, is_bootstrap)
        self._updated(**asdict(profile))

    @event("Updated")
    def _updated(
        self,
        email: str,
        first_name: str,
        last_name: str,
        username: str,
        role: str,
        timezone: str,
        language: str,
        muted_until: datetime | None,
    ) -> None:
        self.email = email
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.role = Role(role)
        self.timezone = timezone
        self.language = language
        self.muted_until = muted_until

    def delete(self, *, other_admins: int, is_bootstrap: bool = False) -> None:
        """Delete the user and, with it, every API key. Same guard as demoting an ADMIN."""
        self._check_not_deleted()
        if is_bootstrap or self.role is Role.ADMIN:
            _check_admin_may_go("deleted", other_admins, is_bootstrap)
        self._deleted()

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
        self.api_keys.clear()

    def issue_api_key(self, key_id: UUID, key_hash: str, label: str) -> None:
        self._check_not_deleted()
        if key_id in self.api_keys:
            raise DomainError(f"API key {key_id} already exists")
        self._api_key_issued(
            key_id=key_id, key_hash=key_hash, label=_text("label", label, required=False)
        )

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

    def _check_not_deleted(self) -> None:
        if self.deleted:
            raise DomainError(f"user {self.username} was deleted")


def _check_admin_may_go(action: str, other_admins: int, is_bootstrap: bool) -> None:
    """An ADMIN may lose the role only if another remains; the bootstrap admin never."""
    if is_bootstrap:
        raise DomainError(f"the bootstrap admin cannot be {action}")
    if other_admins < 1:
        raise DomainError(f"the last ADMIN cannot be {action}: make another user ADMIN first")
