"""Users, their API keys, passwords, contacts and notification rules. Keys and passwords
are stored only as hashes (see ilertd.security). Contacts and rules get small ids from one
per-user counter, so an id names one item for good, even after it is removed.

Commands check the rules, then trigger a past-tense event; handlers only change state, so
events written under older, looser rules still replay. ``InvalidValueError.field`` uses the
API's (camelCase) names: the HTTP layer answers 400 with them unchanged.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import asdict, dataclass, fields, replace
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

#: Passwords: 12 characters at least (NIST SP 800-63B allows 8; ilertd guards pagers);
#: at most 1024, so a body cannot make the hash work on megabytes.
MIN_PASSWORD = 12
MAX_PASSWORD = 1024

#: Per-user limits: enough for any real person, small enough to list without paging.
MAX_CONTACTS = 20
MAX_RULES = 50
MAX_DELAY_MIN = 120
MAX_BEFORE_MIN = 7 * 1_440
#: E.164: a plus and up to 15 digits; 8 is the shortest number worth paging.
_PHONE = re.compile(r"\+[0-9]{8,15}")
_PHONE_SEPARATORS = re.compile(r"[\s\-()]")
_REGION = re.compile(r"[A-Za-z]{2}")


class NoSuchItemError(DomainError):
    """The user has no contact or notification rule with that id (the HTTP layer: 404)."""


class Channel(StrEnum):
    """Where a contact reaches the user."""

    EMAIL = "EMAIL"
    PHONE = "PHONE"


class RuleKind(StrEnum):
    """The three kinds of notification rule; the values are ilert's path segments."""

    ALERTS = "alerts"
    DUTIES = "duties"
    UPDATES = "updates"


#: The methods each kind offers; VOICE calls only make sense for alerts, as in ilert.
RULE_METHODS: dict[RuleKind, tuple[str, ...]] = {
    RuleKind.ALERTS: ("EMAIL", "SMS", "VOICE", "PUSH"),
    RuleKind.DUTIES: ("EMAIL", "SMS", "PUSH"),
    RuleKind.UPDATES: ("EMAIL", "SMS", "PUSH"),
}
#: The contact channel a method sends to; PUSH goes to the user's devices, not a contact.
METHOD_CHANNEL: dict[str, Channel | None] = {
    "EMAIL": Channel.EMAIL,
    "SMS": Channel.PHONE,
    "VOICE": Channel.PHONE,
    "PUSH": None,
}
PRIORITY_TYPES = ("HIGH_PRIORITY", "LOW_PRIORITY")
UPDATE_TYPES = (
    "ALERT_ACCEPTED",
    "ALERT_RESOLVED",
    "ALERT_ESCALATED",
    # ilertd's own (ilert has published none for incidents): what subscribers are told
    "INCIDENT_STATUS_CHANGED",
    "INCIDENT_SEVERITY_CHANGED",
    "INCIDENT_STATUS_UPDATE_POSTED",
)


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


_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


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


def check_password(password: str) -> str:
    """``password`` unchanged if it passes the rules, else InvalidValueError("password");
    the message never repeats it. Checked before it is hashed: only the hash reaches an
    event (``User.set_password``)."""
    if not isinstance(password, str):
        raise InvalidValueError("password", "must be a string")
    if len(password) < MIN_PASSWORD:
        raise InvalidValueError("password", f"must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidValueError("password", f"must be at most {MAX_PASSWORD} characters")
    if _CONTROL.search(password):
        raise InvalidValueError("password", "must not contain control characters")
    if not password.strip():
        raise InvalidValueError("password", "must not be only spaces")
    return password


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


def _email_address(field: str, value: str) -> str:
    """``value`` trimmed, if it looks like an email address; the same rule everywhere."""
    email = _text(field, value)
    if not _EMAIL.fullmatch(email):
        raise InvalidValueError(field, "must look like an email address (name@domain)")
    return email


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
    position: str = ""
    department: str = ""
    region: str = ""
    #: the colour the user's shifts are drawn in, #rrggbb ("": the UI picks one)
    shift_color: str = ""

    def checked(self) -> Profile:
        """Trimmed, username defaulted; InvalidValueError names the first bad field."""
        email = _email_address("email", self.email)
        if self.role not in Role.__members__:
            raise InvalidValueError("role", f"must be one of {', '.join(Role)}")
        if self.timezone not in _zone_names():
            raise InvalidValueError("timezone", "must be an IANA time zone name (Europe/Berlin)")
        if self.language not in LANGUAGES:
            raise InvalidValueError("language", f"must be one of {', '.join(LANGUAGES)}")
        shift_color = _text("shiftColor", self.shift_color, required=False)
        if shift_color and not _COLOR.fullmatch(shift_color):
            raise InvalidValueError("shiftColor", "must be a colour such as #1e88e5")
        return replace(
            self,
            muted_until=_utc("mutedUntil", self.muted_until),
            email=email,
            first_name=_text("firstName", self.first_name),
            last_name=_text("lastName", self.last_name),
            username=_text("username", self.username, required=False) or email,
            position=_text("position", self.position, required=False),
            department=_text("department", self.department, required=False),
            region=_text("region", self.region, required=False),
            shift_color=shift_color.lower(),
        )


@dataclass(frozen=True, slots=True)
class Contact:
    """An email address or phone number the user can be notified at. At most one contact
    per channel is primary: making one primary demotes the others."""

    channel: str
    target: str
    region_code: str | None = None
    primary: bool = False

    def checked(self) -> Contact:
        """Trimmed and normalised (phone numbers to ``+digits``, regions upper-case), so
        duplicates compare equal; InvalidValueError names the API field."""
        if not isinstance(self.channel, str) or self.channel not in Channel.__members__:
            raise InvalidValueError("channel", f"must be one of {', '.join(Channel)}")
        if not isinstance(self.target, str):
            raise InvalidValueError("target", "must be a string")
        if not isinstance(self.primary, bool):
            raise InvalidValueError("primary", "must be true or false")
        if self.channel == Channel.EMAIL:
            if self.region_code is not None:
                raise InvalidValueError("regionCode", "only phone numbers have a region code")
            return replace(self, target=_email_address("target", self.target))
        target = _PHONE_SEPARATORS.sub("", _text("target", self.target))
        if not _PHONE.fullmatch(target):
            raise InvalidValueError(
                "target", "must be an international phone number: + and 8 to 15 digits"
            )
        region = self.region_code
        if isinstance(region, str) and not region.strip():
            region = None  # a blank region is no region
        if region is not None:
            if not isinstance(region, str) or not _REGION.fullmatch(region.strip()):
                raise InvalidValueError("regionCode", "must be two letters, such as DE")
            region = region.strip().upper()
        return replace(self, target=target, region_code=region)

    @property
    def key(self) -> tuple[str, str]:
        """What makes two contacts the same (email addresses ignore case)."""
        target = self.target.lower() if self.channel == Channel.EMAIL else self.target
        return self.channel, target


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """What a POST or PUT sets on a notification rule. ``type`` is the priority of an
    alerts rule or the update of an updates rule; fields another kind uses stay None."""

    method: str
    contact_id: int | None = None
    delay_min: int | None = None
    before_min: int | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class NotificationRule:
    """A checked rule, flat as its events and its projection row store it."""

    kind: str
    method: str
    contact_id: int | None = None
    delay_min: int | None = None
    priority_type: str | None = None
    before_min: int | None = None
    update_type: str | None = None


def _minutes(field: str, value: object, maximum: int) -> int:
    """Whole minutes 0..maximum; absent means 0 (notify at once, or at the shift start)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValueError(field, "must be an integer number of minutes")
    if not 0 <= value <= maximum:
        raise InvalidValueError(field, f"must be between 0 and {maximum}, got {value}")
    return value


def _one_of(field: str, value: object, allowed: tuple[str, ...]) -> str:
    if value is None:
        raise InvalidValueError(field, f"is required: one of {', '.join(allowed)}")
    if value not in allowed:
        raise InvalidValueError(field, f"must be one of {', '.join(allowed)}")
    return str(value)


def _checked_rule(kind: str, settings: RuleSettings) -> NotificationRule:
    """The rule ``settings`` describe for ``kind``, without looking at the contacts yet."""
    try:
        kind = RuleKind(kind)
    except ValueError:
        raise InvalidValueError("kind", f"must be one of {', '.join(RuleKind)}") from None
    method = _one_of("method", settings.method, RULE_METHODS[kind])
    unused = {
        "delayMin": settings.delay_min if kind is not RuleKind.ALERTS else None,
        "beforeMin": settings.before_min if kind is not RuleKind.DUTIES else None,
        "type": settings.type if kind is RuleKind.DUTIES else None,
    }
    for field, value in unused.items():
        if value is not None:
            raise InvalidValueError(field, f"is not a setting of {kind.value} rules")
    contact_id = settings.contact_id
    if contact_id is not None and (isinstance(contact_id, bool) or not isinstance(contact_id, int)):
        raise InvalidValueError("contact", "must be {id} with an integer id")
    rule = NotificationRule(kind=kind.value, method=method, contact_id=contact_id)
    if kind is RuleKind.ALERTS:
        return replace(
            rule,
            delay_min=_minutes("delayMin", settings.delay_min, MAX_DELAY_MIN),
            priority_type=_one_of("type", settings.type, PRIORITY_TYPES),
        )
    if kind is RuleKind.DUTIES:
        return replace(rule, before_min=_minutes("beforeMin", settings.before_min, MAX_BEFORE_MIN))
    return replace(rule, update_type=_one_of("type", settings.type, UPDATE_TYPES))


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
        position: str = "",
        department: str = "",
        region: str = "",
        shift_color: str = "",
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
        self.position = position
        self.department = department
        self.region = region
        self.shift_color = shift_color
        self.deleted = False
        self.api_keys: dict[UUID, str] = {}
        #: argon2 hash of the Basic-auth password; None: no password login
        self.password_hash: str | None = None
        self._init_items()

    def _init_items(self) -> None:
        """Contacts, rules and their id counter. Handlers still call ``_items_ready`` first:
        an aggregate state made before these existed (by older code, or restored without
        them) gets them lazily, and ids then start at 1 as for a new user."""
        self.contacts: dict[int, Contact] = {}
        self.rules: dict[int, NotificationRule] = {}
        #: The next contact or rule id; ids are never reused, even after a removal.
        self.next_item_id = 1

    def _items_ready(self) -> None:
        if getattr(self, "next_item_id", None) is None:
            self._init_items()

    @classmethod
    def register(cls, profile: Profile) -> User:
        """A new user from a profile that passes the rules (bootstrap builds its admin
        directly, with a fixed id)."""
        return cls(**asdict(profile.checked()))

    @property
    def profile(self) -> Profile:
        # getattr with the default: a user restored from events older than a field lacks it
        values = {f.name: getattr(self, f.name, f.default) for f in fields(Profile)}
        return Profile(**{**values, "role": self.role.value})

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
        # defaults: the Updated events written before these fields existed lack them
        position: str = "",
        department: str = "",
        region: str = "",
        shift_color: str = "",
    ) -> None:
        self.email = email
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.role = Role(role)
        self.timezone = timezone
        self.language = language
        self.muted_until = muted_until
        self.position = position
        self.department = department
        self.region = region
        self.shift_color = shift_color

    def delete(self, *, other_admins: int, is_bootstrap: bool = False) -> None:
        """Delete the user and, with it, every API key, contact and notification rule.
        Same guard as demoting an ADMIN."""
        self._check_not_deleted()
        if is_bootstrap or self.role is Role.ADMIN:
            _check_admin_may_go("deleted", other_admins, is_bootstrap)
        self._deleted()

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
        self.api_keys.clear()
        self.password_hash = None
        self._items_ready()
        self.contacts.clear()  # nobody is notified on a deleted user's behalf
        self.rules.clear()

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

    # --- password -------------------------------------------------------------------------

    def set_password(self, password_hash: str) -> None:
        """Set or replace the password Basic auth checks. Takes the hash (the HTTP layer
        checks the password with ``check_password`` and hashes it off the event loop), so
        the event, the store and the aggregate never hold the password."""
        self._check_not_deleted()
        if not isinstance(password_hash, str) or not password_hash.startswith("$argon2"):
            raise DomainError("a password is stored only as an argon2 hash")
        self._password_set(password_hash=password_hash)

    @event("PasswordSet")
    def _password_set(self, password_hash: str) -> None:
        self.password_hash = password_hash

    @property
    def has_password(self) -> bool:
        return getattr(self, "password_hash", None) is not None

    # --- contacts -------------------------------------------------------------------------

    def add_contact(
        self,
        channel: str,
        target: str,
        region_code: str | None = None,
        primary: bool = False,
    ) -> int:
        """A new email address or phone number; its id. Same channel and target twice is
        a conflict, as is a 21st contact."""
        self._check_not_deleted()
        self._items_ready()
        contact = Contact(channel, target, region_code, primary).checked()
        if len(self.contacts) >= MAX_CONTACTS:
            raise DomainError(f"a user has at most {MAX_CONTACTS} contacts: remove one first")
        self._check_unique(contact, except_id=None)
        contact_id = self.next_item_id
        self._contact_added(contact_id=contact_id, **asdict(contact))
        return contact_id

    @event("ContactAdded")
    def _contact_added(
        self,
        contact_id: int,
        channel: str,
        target: str,
        region_code: str | None,
        primary: bool,
    ) -> None:
        self._items_ready()
        self._put_contact(contact_id, Contact(channel, target, region_code, primary))
        self.next_item_id = max(self.next_item_id, contact_id + 1)

    def change_contact(
        self,
        contact_id: int,
        target: str,
        region_code: str | None = None,
        primary: bool = False,
    ) -> None:
        """Replace a contact's target, region and primary flag (PUT); its channel stays.
        Records nothing when nothing changes."""
        self._check_not_deleted()
        old = self.contact(contact_id)
        contact = Contact(old.channel, target, region_code, primary).checked()
        if contact == old:
            return
        self._check_unique(contact, except_id=contact_id)
        self._contact_changed(contact_id=contact_id, **asdict(contact))

    @event("ContactChanged")
    def _contact_changed(
        self,
        contact_id: int,
        channel: str,
        target: str,
        region_code: str | None,
        primary: bool,
    ) -> None:
        self._items_ready()
        self._put_contact(contact_id, Contact(channel, target, region_code, primary))

    def remove_contact(self, contact_id: int) -> None:
        """Remove a contact no notification rule uses: a rule must never point nowhere."""
        self._check_not_deleted()
        self.contact(contact_id)
        users = sorted(rid for rid, rule in self.rules.items() if rule.contact_id == contact_id)
        if users:
            raise DomainError(
                f"contact {contact_id} is used by notification rule(s) "
                f"{', '.join(map(str, users))}: change or remove them first"
            )
        self._contact_removed(contact_id=contact_id)

    @event("ContactRemoved")
    def _contact_removed(self, contact_id: int) -> None:
        self._items_ready()
        self.contacts.pop(contact_id, None)

    def contact(self, contact_id: int) -> Contact:
        """The contact with that id, or NoSuchItemError."""
        self._items_ready()
        found = self.contacts.get(contact_id)
        if found is None:
            raise NoSuchItemError(f"user {self.username} has no contact {contact_id}")
        return found

    def _put_contact(self, contact_id: int, contact: Contact) -> None:
        if contact.primary:
            for other_id, other in self.contacts.items():
                if other.channel == contact.channel and other.primary and other_id != contact_id:
                    self.contacts[other_id] = replace(other, primary=False)
        self.contacts[contact_id] = contact

    def _check_unique(self, contact: Contact, except_id: int | None) -> None:
        for other_id, other in self.contacts.items():
            if other_id != except_id and other.key == contact.key:
                raise DomainError(
                    f"{contact.channel} contact {contact.target} already exists "
                    f"(contact {other_id})"
                )

    # --- notification rules ---------------------------------------------------------------

    def add_rule(self, kind: str, settings: RuleSettings) -> int:
        """A new notification rule of ``kind`` (alerts, duties, updates); its id."""
        self._check_not_deleted()
        self._items_ready()
        rule = self._checked_rule(kind, settings)
        if len(self.rules) >= MAX_RULES:
            raise DomainError(
                f"a user has at most {MAX_RULES} notification rules: remove one first"
            )
        rule_id = self.next_item_id
        self._rule_added(rule_id=rule_id, **asdict(rule))
        return rule_id

    @event("NotificationRuleAdded")
    def _rule_added(
        self,
        rule_id: int,
        kind: str,
        method: str,
        contact_id: int | None,
        delay_min: int | None,
        priority_type: str | None,
        before_min: int | None,
        update_type: str | None,
    ) -> None:
        self._items_ready()
        self.rules[rule_id] = NotificationRule(
            kind, method, contact_id, delay_min, priority_type, before_min, update_type
        )
        self.next_item_id = max(self.next_item_id, rule_id + 1)

    def change_rule(self, rule_id: int, settings: RuleSettings) -> None:
        """Replace a rule's settings (PUT); its kind stays. Records nothing when nothing
        changes."""
        self._check_not_deleted()
        rule = self._checked_rule(self.rule(rule_id).kind, settings)
        if rule != self.rules[rule_id]:
            self._rule_changed(rule_id=rule_id, **asdict(rule))

    @event("NotificationRuleChanged")
    def _rule_changed(
        self,
        rule_id: int,
        kind: str,
        method: str,
        contact_id: int | None,
        delay_min: int | None,
        priority_type: str | None,
        before_min: int | None,
        update_type: str | None,
    ) -> None:
        self._items_ready()
        self.rules[rule_id] = NotificationRule(
            kind, method, contact_id, delay_min, priority_type, before_min, update_type
        )

    def remove_rule(self, rule_id: int) -> None:
        self._check_not_deleted()
        self.rule(rule_id)
        self._rule_removed(rule_id=rule_id)

    @event("NotificationRuleRemoved")
    def _rule_removed(self, rule_id: int) -> None:
        self._items_ready()
        self.rules.pop(rule_id, None)

    def rule(self, rule_id: int) -> NotificationRule:
        """The notification rule with that id, or NoSuchItemError."""
        self._items_ready()
        found = self.rules.get(rule_id)
        if found is None:
            raise NoSuchItemError(f"user {self.username} has no notification rule {rule_id}")
        return found

    def _checked_rule(self, kind: str, settings: RuleSettings) -> NotificationRule:
        """The rule as ``_checked_rule`` gives it, with its contact checked against this
        user's contacts: EMAIL needs an email address, SMS and VOICE a phone number, PUSH
        none."""
        rule = _checked_rule(kind, settings)
        wanted = METHOD_CHANNEL[rule.method]
        if wanted is None:
            if rule.contact_id is not None:
                raise InvalidValueError("contact", f"must be null for method {rule.method}")
            return rule
        if rule.contact_id is None:
            raise InvalidValueError(
                "contact", f"is required for method {rule.method}: a {wanted.value} contact"
            )
        contact = self.contacts.get(rule.contact_id)
        if contact is None:
            raise InvalidValueError("contact", f"the user has no contact {rule.contact_id}")
        if contact.channel != wanted:
            raise InvalidValueError(
                "contact",
                f"method {rule.method} needs a {wanted.value} contact; "
                f"contact {rule.contact_id} is {contact.channel}",
            )
        return rule

    def _check_not_deleted(self) -> None:
        if self.deleted:
            raise DomainError(f"user {self.username} was deleted")


def _check_admin_may_go(action: str, other_admins: int, is_bootstrap: bool) -> None:
    """An ADMIN may lose the role only if another remains; the bootstrap admin never."""
    if is_bootstrap:
        raise DomainError(f"the bootstrap admin cannot be {action}")
    if other_admins < 1:
        raise DomainError(f"the last ADMIN cannot be {action}: make another user ADMIN first")
