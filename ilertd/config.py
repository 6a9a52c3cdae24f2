"""Configuration: TOML file, then ``ILERTD_*`` environment overrides, then validation.

Every option has one dotted key (``http.listen``), one environment variable
(``ILERTD_HTTP_LISTEN``) and a default; ``config/ilertd.example.toml`` documents them all.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_CONFIG_PATH = Path("/etc/ilertd/ilertd.toml")


class ConfigError(ValueError):
    """A bad option; ``key`` names it as the user wrote it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class Option:
    key: str
    env: str
    default: Any
    kind: type
    help: str
    secret: bool = False
    choices: tuple[str, ...] = ()
    minimum: int = 1


#: A chosen admin key shorter than this is refused at start: the key is a password that
#: grants everything, and ``a`` would do.
MIN_ADMIN_KEY_LENGTH = 32

OPTIONS: tuple[Option, ...] = (
    Option(
        "database.url",
        "ILERTD_DATABASE_URL",
        "",
        str,
        "PostgreSQL URL; empty starts an embedded PostgreSQL in data_dir",
        secret=True,
    ),
    Option("database.pool_size", "ILERTD_DATABASE_POOL_SIZE", 20, int, "connections in the pool"),
    Option(
        "database.acquire_timeout_s",
        "ILERTD_DATABASE_ACQUIRE_TIMEOUT_S",
        5.0,
        float,
        "longest a request waits for a free database connection; then 503 with Retry-After",
    ),
    Option(
        "database.statement_timeout_s",
        "ILERTD_DATABASE_STATEMENT_TIMEOUT_S",
        30.0,
        float,
        "longest one database statement may run, lock waits included; then 503",
    ),
    Option(
        "database.connect_retry_s",
        "ILERTD_DATABASE_CONNECT_RETRY_S",
        2.0,
        float,
        "seconds between attempts while the database is unreachable",
    ),
    Option(
        "data_dir",
        "ILERTD_DATA_DIR",
        "~/.local/share/ilertd",
        str,
        "state directory: the embedded PostgreSQL lives in <data_dir>/postgres",
    ),
    Option(
        "http.listen",
        "ILERTD_HTTP_LISTEN",
        "127.0.0.1:8080",
        str,
        "host:port the HTTP API listens on",
    ),
    Option(
        "http.shutdown_timeout_s",
        "ILERTD_HTTP_SHUTDOWN_TIMEOUT_S",
        10.0,
        float,
        "seconds in-flight requests get to finish on SIGTERM",
    ),
    Option(
        "http.header_timeout_s",
        "ILERTD_HTTP_HEADER_TIMEOUT_S",
        10.0,
        float,
        "longest a connection may take to send a request's head, and stay idle between "
        "requests; then it is closed",
    ),
    Option(
        "http.body_timeout_s",
        "ILERTD_HTTP_BODY_TIMEOUT_S",
        30.0,
        float,
        "longest a client may take to send a request body; then 408 and the connection closes",
    ),
    Option(
        "http.max_body_bytes",
        "ILERTD_HTTP_MAX_BODY_BYTES",
        1024 * 1024,
        int,
        "largest request body accepted; larger ones get 413",
    ),
    Option(
        "http.read_wait_s",
        "ILERTD_HTTP_READ_WAIT_S",
        10.0,
        float,
        "longest a request waits for the read models to show earlier writes; then 503",
    ),
    Option(
        "events.rate_limit_per_minute",
        "ILERTD_EVENTS_RATE_LIMIT_PER_MINUTE",
        50,
        int,
        "events accepted per integration key per minute; 0 turns the limit off",
        minimum=0,
    ),
    Option(
        "heartbeats.rate_limit_per_minute",
        "ILERTD_HEARTBEATS_RATE_LIMIT_PER_MINUTE",
        5,
        int,
        "heartbeat pings accepted per key per minute (ilert's 5); 0 turns the limit off",
        minimum=0,
    ),
    Option(
        "auth.max_failures",
        "ILERTD_AUTH_MAX_FAILURES",
        10,
        int,
        "failed authentications per client address (and wrong passwords per user) within "
        "auth.failure_window_s before that address (or user's password login) gets 429",
    ),
    Option(
        "auth.failure_window_s",
        "ILERTD_AUTH_FAILURE_WINDOW_S",
        300.0,
        float,
        "seconds failures are counted in, and how long a throttled address or user waits",
    ),
    Option(
        "auth.throttle_max_entries",
        "ILERTD_AUTH_THROTTLE_MAX_ENTRIES",
        10_000,
        int,
        "addresses (and users) the throttle remembers; the least recently failed go first",
    ),
    Option(
        "engine.process",
        "ILERTD_ENGINE_PROCESS",
        "separate",
        str,
        "separate: the engine (timers, paging, deliveries) runs in a child process on the "
        "second core; inline: in the HTTP process",
        choices=("separate", "inline"),
    ),
    Option(
        "engine.leader_retry_s",
        "ILERTD_ENGINE_LEADER_RETRY_S",
        2.0,
        float,
        "seconds between a standby's attempts to take over the engine",
    ),
    Option(
        "http.trusted_proxies",
        "ILERTD_HTTP_TRUSTED_PROXIES",
        "",
        str,
        "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client "
        "(the failed-authentication throttle counts that address); empty: none",
    ),
    Option(
        "http.public_url",
        "ILERTD_HTTP_PUBLIC_URL",
        "",
        str,
        "URL people reach ilertd at, for links in webhooks and mails; empty: http://<listen>",
    ),
    Option(
        "outbound.timeout_s",
        "ILERTD_OUTBOUND_TIMEOUT_S",
        10.0,
        float,
        "seconds one outbound request (webhook, chat, Jira, SMTP) may take",
    ),
    Option(
        "outbound.max_attempts",
        "ILERTD_OUTBOUND_MAX_ATTEMPTS",
        8,
        int,
        "attempts per delivery before it is dead-lettered",
    ),
    Option(
        "outbound.retry_base_s",
        "ILERTD_OUTBOUND_RETRY_BASE_S",
        2.0,
        float,
        "wait before the 2nd attempt; doubles per attempt, with jitter",
    ),
    Option(
        "outbound.retry_max_s",
        "ILERTD_OUTBOUND_RETRY_MAX_S",
        600.0,
        float,
        "longest wait between two attempts",
    ),
    Option(
        "outbound.concurrency",
        "ILERTD_OUTBOUND_CONCURRENCY",
        256,
        int,
        "deliveries in flight at once (each mostly waits: on the receiver, on the commit)",
    ),
    Option(
        "outbound.allow_networks",
        "ILERTD_OUTBOUND_ALLOW_NETWORKS",
        "",
        str,
        "comma-separated CIDRs always allowed as destinations (exceptions to the denials)",
    ),
    Option(
        "outbound.deny_networks",
        "ILERTD_OUTBOUND_DENY_NETWORKS",
        "",
        str,
        "comma-separated CIDRs never sent to",
    ),
    Option(
        "outbound.deny_private_networks",
        "ILERTD_OUTBOUND_DENY_PRIVATE_NETWORKS",
        True,
        bool,
        "never send to loopback, private, link-local (cloud metadata), CGNAT or unique-local "
        "addresses unless allow_networks lets them in; false sends anywhere",
    ),
    Option("smtp.host", "ILERTD_SMTP_HOST", "", str, "SMTP server for e-mail; empty: no e-mail"),
    Option("smtp.port", "ILERTD_SMTP_PORT", 25, int, "SMTP port"),
    Option(
        "smtp.security",
        "ILERTD_SMTP_SECURITY",
        "starttls",
        str,
        "none, starttls (required) or tls (implicit, usually port 465)",
        choices=("none", "starttls", "tls"),
    ),
    Option("smtp.username", "ILERTD_SMTP_USERNAME", "", str, "SMTP login; empty: no login"),
    Option("smtp.password", "ILERTD_SMTP_PASSWORD", "", str, "SMTP password", secret=True),
    Option("smtp.from", "ILERTD_SMTP_FROM", "ilertd@localhost", str, "sender address"),
    Option(
        "smtp.validate_certs",
        "ILERTD_SMTP_VALIDATE_CERTS",
        True,
        bool,
        "false accepts self-signed SMTP server certificates",
    ),
    Option(
        "notify.link_ttl_s",
        "ILERTD_NOTIFY_LINK_TTL_S",
        86_400,
        int,
        "seconds the accept/resolve/escalate links in a page stay valid",
    ),
    Option(
        "notify.max_attempts",
        "ILERTD_NOTIFY_MAX_ATTEMPTS",
        3,
        int,
        "attempts per notification before it counts as failed (later rules still go out)",
    ),
    Option(
        "notify.retry_base_s",
        "ILERTD_NOTIFY_RETRY_BASE_S",
        10.0,
        float,
        "wait before a notification's 2nd attempt; doubles per attempt",
    ),
    Option(
        "notify.bundle_window_s",
        "ILERTD_NOTIFY_BUNDLE_WINDOW_S",
        180.0,
        float,
        "after a text or call to a number, more wait this long and go out as one summary",
    ),
    Option(
        "notify.message_window_s",
        "ILERTD_NOTIFY_MESSAGE_WINDOW_S",
        0.25,
        float,
        "e-mail and push: pages to one person due within this window go out as one message",
    ),
    Option(
        "notify.twilio_base_url",
        "ILERTD_NOTIFY_TWILIO_BASE_URL",
        "https://api.twilio.com",
        str,
        "SMS and voice: a Twilio-compatible API (Twilio itself, or a gateway speaking it)",
    ),
    Option(
        "notify.twilio_account_sid",
        "ILERTD_NOTIFY_TWILIO_ACCOUNT_SID",
        "",
        str,
        "account SID; empty: no SMS or voice",
    ),
    Option(
        "notify.twilio_auth_token",
        "ILERTD_NOTIFY_TWILIO_AUTH_TOKEN",
        "",
        str,
        "auth token (also checks the X-Twilio-Signature of replies)",
        secret=True,
    ),
    Option("notify.twilio_from", "ILERTD_NOTIFY_TWILIO_FROM", "", str, "the sending number"),
    Option(
        "notify.ntfy_base_url",
        "ILERTD_NOTIFY_NTFY_BASE_URL",
        "",
        str,
        "push: an ntfy server (e.g. https://ntfy.sh or your own); empty: no push",
    ),
    Option(
        "notify.ntfy_token", "ILERTD_NOTIFY_NTFY_TOKEN", "", str, "ntfy access token", secret=True
    ),
    Option(
        "notify.ntfy_topic_prefix",
        "ILERTD_NOTIFY_NTFY_TOPIC_PREFIX",
        "ilertd-user-",
        str,
        "a user's push topic is this prefix and their id",
    ),
    Option(
        "notify.status_mail_window_s",
        "ILERTD_NOTIFY_STATUS_MAIL_WINDOW_S",
        60.0,
        float,
        "status page subscribers: news waits this long and goes out as one mail per address",
    ),
    Option(
        "notify.status_confirm_ttl_s",
        "ILERTD_NOTIFY_STATUS_CONFIRM_TTL_S",
        172_800,
        int,
        "seconds a status page subscription's confirmation link stays valid",
    ),
    Option(
        "log.format",
        "ILERTD_LOG_FORMAT",
        "auto",
        str,
        "json, console, or auto (console on a terminal, json otherwise)",
        choices=("json", "console", "auto"),
    ),
    Option(
        "log.level",
        "ILERTD_LOG_LEVEL",
        "info",
        str,
        "debug, info, warning or error",
        choices=("debug", "info", "warning", "error"),
    ),
    Option(
        "admin_api_key",
        "ILERTD_ADMIN_API_KEY",
        "",
        str,
        f"API key of the admin user created on first start (at least {MIN_ADMIN_KEY_LENGTH} "
        "characters); empty generates one",
        secret=True,
    ),
    Option(
        "secrets.keys",
        "ILERTD_SECRETS_KEYS",
        "",
        str,
        "Fernet keys sealing connector and alert action secrets, comma-separated, the first "
        "seals; empty: the key file",
        secret=True,
    ),
    Option(
        "secrets.key_file",
        "ILERTD_SECRETS_KEY_FILE",
        "",
        str,
        "file of those keys, one a line (made with one key on first start); empty: "
        "<data_dir>/secrets.key",
    ),
    Option(
        "inbound_email.listen",
        "ILERTD_INBOUND_EMAIL_LISTEN",
        "",
        str,
        "host:port of the SMTP listener for e-mail alert sources; empty: off",
    ),
    Option(
        "inbound_email.domain",
        "ILERTD_INBOUND_EMAIL_DOMAIN",
        "",
        str,
        "the domain of <integrationKey>@<domain>; required with inbound_email.listen",
    ),
    Option(
        "inbound_email.max_message_bytes",
        "ILERTD_INBOUND_EMAIL_MAX_MESSAGE_BYTES",
        10 * 1024 * 1024,
        int,
        "largest message accepted (SIZE in EHLO); larger ones get 552",
    ),
)

_BY_KEY = {o.key: o for o in OPTIONS}


@dataclass(frozen=True)
class Config:
    values: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    #: ``ILERTD_*`` variables of the environment that name no setting (a typo, or an
    #: option of another version): said in the log at start, never silently ignored.
    unknown_env: tuple[str, ...] = ()

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def data_dir(self) -> Path:
        return Path(self.values["data_dir"]).expanduser()

    @property
    def listen(self) -> tuple[str, int]:
        host, _, port = self.values["http.listen"].rpartition(":")
        return host.strip("[]"), int(port)

    def masked(self) -> dict[str, Any]:
        """The effective configuration with secrets hidden, for check-config and logs."""
        out: dict[str, Any] = {}
        for option in OPTIONS:
            value = self.values[option.key]
            if option.secret and value:
                value = mask_url(value) if "://" in str(value) else "********"
            out[option.key] = value
        return out


def mask_url(url: str) -> str:
    """Hide the password of a URL, keep the rest (host, database) for diagnosis."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":********@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{key}."))
        else:
            flat[key] = value
    return flat


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _coerce(option: Option, value: Any, origin: str) -> Any:
    where = f"{option.key} ({origin})"
    if option.kind is bool:
        if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
            return _BOOLEANS[value.strip().lower()]
        if not isinstance(value, bool):
            raise ConfigError(where, f"must be true or false, got {value!r}")
        return value
    if option.kind is int:
        if isinstance(value, bool):
            raise ConfigError(where, "must be an integer")
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise ConfigError(where, f"must be an integer, got {value!r}") from None
        if value < option.minimum:
            raise ConfigError(where, f"must be at least {option.minimum}")
    elif option.kind is float:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ConfigError(where, f"must be a number, got {value!r}") from None
        if value <= 0:
            raise ConfigError(where, "must be positive")
    elif not isinstance(value, str):
        raise ConfigError(where, f"must be a string, got {type(value).__name__}")
    if option.choices and value not in option.choices:
        raise ConfigError(where, f"must be one of {', '.join(option.choices)}, got {value!r}")
    return value


def _validate(values: dict[str, Any]) -> None:
    host, sep, port = values["http.listen"].rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("http.listen", f"must be host:port, got {values['http.listen']!r}")
    _validate_inbound_email(values)
    url = values["database.url"]
    if url and urlsplit(url).scheme not in ("postgres", "postgresql"):
        raise ConfigError("database.url", "must be a postgresql:// URL")
    admin_key = values["admin_api_key"]
    if admin_key and len(admin_key) < MIN_ADMIN_KEY_LENGTH:
        raise ConfigError(
            "admin_api_key (ILERTD_ADMIN_API_KEY)",
            f"must be at least {MIN_ADMIN_KEY_LENGTH} characters, got {len(admin_key)}; "
            "leave it empty and ilertd generates one",
        )
    public = values["http.public_url"]
    if public and urlsplit(public).scheme not in ("http", "https"):
        raise ConfigError("http.public_url", "must be an http:// or https:// URL")
    for key in ("outbound.allow_networks", "outbound.deny_networks", "http.trusted_proxies"):
        for entry in networks(values[key]):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(key, f"{entry!r} is not an address or CIDR") from None


def _validate_inbound_email(values: dict[str, Any]) -> None:
    listen = values["inbound_email.listen"]
    if not listen:
        return
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError("inbound_email.listen", f"must be host:port, got {listen!r}")
    domain = values["inbound_email.domain"].strip()
    if not domain or "@" in domain or any(ch.isspace() for ch in domain):
        raise ConfigError(
            "inbound_email.domain", "must be a domain name when inbound_email.listen is set"
        )


def networks(value: str) -> list[str]:
    """A comma-separated list of CIDRs as a list."""
    return [entry.strip() for entry in value.split(",") if entry.strip()]


def load_config(path: Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read ``path`` (or the default file when present), apply the environment, validate."""
    env = dict(os.environ) if env is None else env
    if path is None and env.get("ILERTD_CONFIG"):
        path = Path(env["ILERTD_CONFIG"])
    if path is None and DEFAULT_CONFIG_PATH.exists():
        path = DEFAULT_CONFIG_PATH
    file_values: dict[str, Any] = {}
    if path is not None:
        try:
            file_values = _flatten(tomllib.loads(path.read_text()))
        except FileNotFoundError:
            raise ConfigError(str(path), "configuration file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    unknown = sorted(set(file_values) - set(_BY_KEY))
    if unknown:
        raise ConfigError(unknown[0], "unknown option")
    values: dict[str, Any] = {}
    for option in OPTIONS:
        value, origin = option.default, "default"
        if option.key in file_values:
            value, origin = file_values[option.key], str(path)
        if option.env in env:
            value, origin = env[option.env], option.env
        values[option.key] = _coerce(option, value, origin)
    _validate(values)
    known = {option.env for option in OPTIONS} | NON_OPTION_ENV
    unknown_env = tuple(sorted(k for k in env if k.startswith("ILERTD_") and k not in known))
    return Config(values, path, unknown_env)


#: ``ILERTD_*`` names that are not settings but are read all the same: the config file's
#: path, the loop choice, the engine child's parent, the tests' and benches' databases.
NON_OPTION_ENV = frozenset(
    {
        "ILERTD_CONFIG",
        "ILERTD_EVENT_LOOP",
        "ILERTD_ENGINE_PARENT_PID",
        "ILERTD_TEST_DSN",
        "ILERTD_BENCH_DSN",
    }
)


def closest_option_env(name: str) -> str | None:
    """The setting a mistyped variable most likely meant, if any is close."""
    found = difflib.get_close_matches(name, [option.env for option in OPTIONS], n=1)
    return found[0] if found else None
