"""Who may read a field of an answer, declared on the field itself, and the masking forms.

A secret field of a contract type carries ``secret(...)`` in its ``Annotated``: one
declaration that the answers apply (``ilertd.http.field_access`` walks the types and masks
what the caller may not read) and that the generated OpenAPI document states
(``x-visible-to``, ``x-masked-as`` next to the field's schema). Declared next to the field
rather than in a separate list so a field cannot be renamed or moved away from its rule,
and so the document needs no second source.

Everything here is pure: the masking forms are string functions, the roles are names.
Masked answers keep every field's JSON type (a string stays a string, ilert-go decodes it);
only ``OMIT`` leaves a field out, for fields ilert's clients do not have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import msgspec

#: What a masked value reads as, and what a masked URL carries in place of a secret part.
MASK = "***"

#: Who reads secrets, as the document states it. ADMINs always; a field with an owner also
#: the user it belongs to; a resource's other secrets also the ADMIN members of its teams
#: (who may write it: ``http.field_access.owning_team_admin``).
ADMIN = "ADMIN"
OWNER = "the user it belongs to"
TEAM_ADMIN = "ADMIN members of the resource's teams"


class Masking(StrEnum):
    """The form a secret takes for a caller who may not read it."""

    #: the value reads ``***``
    VALUE = "value"
    #: the field is left out (ilert's clients do not know it)
    OMIT = "omit"
    #: a URL with its password and the values of secret query parameters replaced by ***
    URL = "url"
    #: a chat webhook URL (Slack, Teams, Google Chat): its path is the credential, so only
    #: scheme and host are kept, ``https://hooks.slack.com/***``
    WEBHOOK_URL = "webhook-url"
    #: an integration URL: the holder's ``integrationKey`` replaced by ***, then as URL
    INTEGRATION_URL = "integration-url"
    #: connector params: URLs as URL (chat connectors' as WEBHOOK_URL); credential params
    #: are write-only for everyone (``domain.connector``) and never reach an answer
    CONNECTOR_PARAMS = "connector-params"
    #: a text that may mention a contact (the holder's ``contact`` path): the contact, and
    #: the last digits the timeline shows of a phone number, replaced by ***
    CONTACT_TEXT = "contact-text"
    #: an object of values of which ``target`` is a contact: it reads ***, and any other
    #: text value mentioning the contact is scrubbed as CONTACT_TEXT
    CONTACT_VARS = "contact-vars"


MASKED_AS = {
    Masking.VALUE: MASK,
    Masking.OMIT: "left out",
    Masking.URL: "the URL with its password and secret query values replaced by ***",
    Masking.WEBHOOK_URL: "scheme and host only: https://host/***",
    Masking.INTEGRATION_URL: "the URL with the integration key replaced by ***",
    Masking.CONNECTOR_PARAMS: "URL values masked: password and secret query values ***, "
    "chat webhook URLs https://host/***",
    Masking.CONTACT_TEXT: "the contact (e-mail, number, topic) replaced by ***",
    Masking.CONTACT_VARS: "target *** and the contact scrubbed from the other values",
}


@dataclass(frozen=True)
class Visibility:
    """A secret field: who reads it (ADMINs; and ``owner``'s user), what the others see.

    ``owner`` and ``contact`` are dotted paths inside the object holding the field (the
    notification, the log entry): the id of the user the value belongs to, and the contact
    a text field may mention."""

    masking: Masking
    why: str
    owner: str | None = None
    contact: str | None = None

    @property
    def visible_to(self) -> list[str]:
        return [ADMIN, OWNER] if self.owner else [ADMIN, TEAM_ADMIN]


def secret(
    masking: Masking, why: str, *, owner: str | None = None, contact: str | None = None
) -> msgspec.Meta:
    """The annotation of a secret field: ``Annotated[str, secret(Masking.URL, "...")]``."""
    rule = Visibility(masking, why, owner, contact)
    return msgspec.Meta(
        extra={"visibility": rule},
        extra_json_schema={"x-visible-to": rule.visible_to, "x-masked-as": MASKED_AS[masking]},
    )


# --- masking forms ------------------------------------------------------------------------

#: Query parameter names whose values are credentials: exactly these...
_SECRET_QUERY_NAMES = frozenset(
    {"key", "sig", "code", "auth", "pass", "pwd", "apikey", "api_key", "api-key"}
)
#: ...or containing one of these (``access_token``, ``client_secret``, ``x-api-key``).
_SECRET_QUERY_PARTS = ("token", "secret", "password", "passwd", "signature", "credential")
#: Hosts whose webhook URLs hold their credential in the path.
_CHAT_HOSTS = ("hooks.slack.com", "webhook.office.com", "chat.googleapis.com")
#: Connector types whose ``url`` is a chat webhook.
CHAT_CONNECTOR_TYPES = frozenset(
    {
        "slack",
        "slack_webhook",
        "microsoft_teams",
        "microsoft_teams_webhook",
        "google_chat",
        "google_chat_webhook",
    }
)


def is_secret_query(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_QUERY_NAMES or any(p in lowered for p in _SECRET_QUERY_PARTS)


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and bool(re.match(r"(?i)https?://", value))


def mask_url(url: str) -> str:
    """``http://svc:PASS@host/p?access_token=T&x=1`` -> ``http://svc:***@host/p?access_token=***&x=1``;
    a chat webhook host's URL as ``mask_webhook_url``. Not a URL: unchanged."""
    if not _is_url(url):
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # a URL the parser refuses (a bad port): nothing of it is shown
        return MASK
    if any(host == h or host.endswith("." + h) for h in _CHAT_HOSTS):
        return mask_webhook_url(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon else f"{MASK}@{hostport}"
    query = "&".join(_masked_pair(pair) for pair in parts.query.split("&"))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _masked_pair(pair: str) -> str:
    """One ``name=value`` of a query, as written but for a secret's value."""
    name, equals, value = pair.partition("=")
    if equals and value and is_secret_query(unquote_plus(name)):
        return f"{name}={MASK}"
    return pair


def mask_webhook_url(url: str) -> str:
    """Scheme and host only: the path (and query) of a chat webhook is its credential."""
    if not _is_url(url):
        return MASK
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    return f"{parts.scheme}://{host}{port}/{MASK}"


def _scrub(text: str, contact: Any) -> str:
    """``text`` with ``contact`` and the shortened form the timeline shows of a number
    (``…1234``) replaced by ***."""
    if not isinstance(contact, str) or not contact:
        return text
    text = text.replace(contact, MASK)
    if len(contact) > 4:
        text = text.replace("…" + contact[-4:], MASK)
    return text


def at_path(holder: Any, dotted: str | None) -> Any:
    """The value at ``a.b`` in nested objects, or None."""
    if dotted is None:
        return None
    value = holder
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def masked(rule: Visibility, value: Any, holder: dict[str, Any]) -> Any:
    """``value`` (a field of ``holder``) as a caller who may not read it sees it; None and
    "" stay as they are (nothing to hide)."""
    if value is None or value == "":
        return value
    kind = rule.masking
    if kind is Masking.VALUE:
        return MASK
    if kind is Masking.URL:
        return mask_url(value)
    if kind is Masking.WEBHOOK_URL:
        return mask_webhook_url(value)
    if kind is Masking.INTEGRATION_URL:
        key = holder.get("integrationKey")
        return mask_url(value.replace(key, MASK) if key else value)
    if kind is Masking.CONNECTOR_PARAMS:
        chat = str(holder.get("type", "")).lower() in CHAT_CONNECTOR_TYPES
        return {
            k: (mask_webhook_url(v) if chat else mask_url(v)) if _is_url(v) else v
            for k, v in value.items()
        }
    contact = at_path(holder, rule.contact)
    if kind is Masking.CONTACT_TEXT:
        return _scrub(value, contact) if isinstance(value, str) else value
    if kind is Masking.CONTACT_VARS and isinstance(value, dict):
        contact = value.get("target", contact)
        return {
            k: MASK if k == "target" and v else _scrub(v, contact) if isinstance(v, str) else v
            for k, v in value.items()
        }
    raise AssertionError(f"no masking form {kind}")  # pragma: no cover - OMIT is not a value


_MASKED_PART = re.compile(r"^\*\*\*$|:\*\*\*@|=\*\*\*(?:&|#|$)|/\*\*\*$")


def looks_masked(value: Any) -> bool:
    """Whether a string is (or holds) a masked part as answers write them."""
    return isinstance(value, str) and bool(_MASKED_PART.search(value))
