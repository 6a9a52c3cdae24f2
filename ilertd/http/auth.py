"""Authentication of /api routes: ``Authorization: Bearer <API key>``, or Basic with a
user's password as ilert's clients send it; inbound integration routes authenticate by
their key.

ilert-go's ``WithBasicAuth`` (and so the Terraform provider) sends
``Basic base64("<username>@<organization>:<password>")``; the username may itself be an
email. ilertd has one organisation, so the user part names a user by username or email,
as given or without its last ``@suffix``.

Failures are throttled per client address and, for passwords, per user (``throttle``):
a refused caller gets 429 with Retry-After before any credential is checked, and a check
that finishes after its address (or user) was refused meanwhile is answered 429 too,
right or wrong: a burst of concurrent guesses gets no more answers than one at a time.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from contextlib import nullcontext
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from projections.users import password_login

from ..config import networks
from ..keyed_locks import KeyedLocks
from ..security import feed_token_valid, hash_api_key, verify_password
from .context import USER, runtime
from .middleware import Handler
from .problems import ProblemError
from .throttle import AuthThrottle, address_key, client_address, retry_after
from .verified_logins import VerifiedLogins

log = structlog.get_logger(__name__)

#: Paths that authenticate by an integration key (body or path) instead of a Bearer key.
PUBLIC_PREFIXES = (
    "/api/events",
    "/api/v1/events",
    "/api/heartbeats",
    "/api/v1/heartbeats",
    "/api/openapi.json",
    # the SMS/voice provider's callbacks: checked by its signature and signed tokens
    "/api/notify/",
)

#: What a 401 offers (RFC 9110 asks a 401 to name its schemes).
CHALLENGE = 'Bearer realm="ilertd", Basic realm="ilertd", charset="UTF-8"'
AUTH_THROTTLE = web.AppKey("auth_throttle", AuthThrottle)
#: One password check per address, and per user, at a time: concurrent guesses see each
#: other's failures.
_PASSWORD_CHECKS = web.AppKey("password_checks", KeyedLocks)
_VERIFIED_LOGINS = web.AppKey("verified_logins", VerifiedLogins)
#: ``http.trusted_proxies``: whose X-Forwarded-For names the client
_TRUSTED_PROXIES: web.AppKey[tuple[Any, ...]] = web.AppKey("trusted_proxies", tuple)

_FEED = re.compile(r"/api/schedules/([0-9]{1,18})/ical")


def setup(app: web.Application, config: Any) -> None:
    """The application's throttle, from ``auth.*`` (``http.users.setup`` calls this: the
    server builds per-application state through its feature modules)."""
    app[AUTH_THROTTLE] = AuthThrottle(
        config["auth.max_failures"],
        config["auth.failure_window_s"],
        config["auth.throttle_max_entries"],
    )
    app[_PASSWORD_CHECKS] = KeyedLocks()
    app[_VERIFIED_LOGINS] = VerifiedLogins()
    app[_TRUSTED_PROXIES] = tuple(
        ipaddress.ip_network(entry, strict=False)
        for entry in networks(config["http.trusted_proxies"])
    )


class UnauthorizedError(ProblemError):
    """401 with the challenge header."""

    def __init__(self, message: str) -> None:
        super().__init__(401, "UNAUTHORIZED", message)

    def response(self) -> web.Response:
        answer = super().response()
        answer.headers["WWW-Authenticate"] = CHALLENGE
        return answer


class ThrottledError(ProblemError):
    """429 with Retry-After: too many failed authentications."""

    def __init__(self, wait_s: float, whose: str) -> None:
        self.retry_after = retry_after(wait_s)
        super().__init__(
            429,
            "TOO_MANY_REQUESTS",
            f"too many failed authentications for {whose}; retry in {self.retry_after} s",
        )

    def response(self) -> web.Response:
        answer = super().response()
        answer.headers["Retry-After"] = self.retry_after
        return answer


def _needs_api_key(path: str) -> bool:
    return path.startswith("/api/") and not path.startswith(PUBLIC_PREFIXES)


def _feed_token_ok(request: web.Request) -> bool:
    """A calendar feed fetched with its schedule's feed token (calendar apps cannot send a
    Bearer header); only that one read-only route, only that schedule."""
    match = _FEED.fullmatch(request.path)
    token = request.query.get("token")
    if match is None or not token or request.method not in ("GET", "HEAD"):
        return False
    return feed_token_valid(runtime(request).feed_secret, int(match[1]), token)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _needs_api_key(request.path) and not _feed_token_ok(request):
        request[USER] = await _caller(request)
    return await handler(request)


async def signed_in(request: web.Request) -> asyncpg.Record:
    """The user the request's credentials name (Bearer API key, or Basic with a user's
    password), throttled like every /api route: for routes outside /api that serve only
    signed-in users (a PRIVATE status page). Raises the 401, 403 or 429 to answer."""
    return await _caller(request)


async def _caller(request: web.Request) -> asyncpg.Record:
    """The users row the credentials name, or the problem to answer."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if scheme not in ("bearer", "basic") or not credentials:
        raise UnauthorizedError(
            "missing credentials: send 'Authorization: Bearer <api key>' or Basic "
            "<user>@<organization>:<password>"
        )
    throttle = request.app[AUTH_THROTTLE]
    address = address_key(
        client_address(
            request.remote,
            request.headers.get("X-Forwarded-For"),
            request.app[_TRUSTED_PROXIES],
        )
    )
    _refuse_if_refused(throttle, address)
    if scheme == "basic":
        return await _password_user(request, throttle, address, credentials)
    user = await runtime(request).user_for_key(hash_api_key(credentials))
    _refuse_if_refused(throttle, address)  # refused while we looked
    if user is None:
        _failed(throttle, address, None)
        raise ProblemError(403, "FORBIDDEN", "the API key is not valid")
    return user


async def _password_user(
    request: web.Request, throttle: AuthThrottle, address: str, credentials: str
) -> asyncpg.Record:
    try:
        name, colon, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        name, colon, password = "", "", ""
    if not (name and colon and password):
        _failed(throttle, address, None)
        raise UnauthorizedError("Basic credentials must be base64 of <user>:<password>")
    parts = runtime(request)
    login = await _login(parts.pool, name)
    user_id: int | None = login["user_id"] if login else None
    verified = request.app[_VERIFIED_LOGINS]
    if login is not None and verified.verified(name, password, login["password_hash"]):
        _refuse_if_refused(throttle, address, user_id)
        return await _live_login(parts, user_id)
    locks = request.app[_PASSWORD_CHECKS]
    # one check at a time per address, then per user (always in this order): each sees the
    # failures of the one before, and a burst costs a hash only until the limit is reached
    async with (
        locks.hold(("address", address)),
        locks.hold(("user", user_id)) if user_id is not None else nullcontext(),
    ):
        _refuse_if_refused(throttle, address, user_id)
        # an unknown user is checked against a decoy: as slow, so no user enumeration
        right = await verify_password(login["password_hash"] if login else None, password)
        _refuse_if_refused(throttle, address, user_id)  # refused meanwhile (a Bearer guess)
        if not right:
            _failed(throttle, address, user_id)
            raise UnauthorizedError("wrong user or password")
    # right means a known user's hash matched (the decoy never does)
    assert login is not None
    verified.remember(name, password, login["password_hash"])
    return await _live_login(parts, user_id)


async def _live_login(parts: Any, user_id: int | None) -> asyncpg.Record:
    user = await parts.live_user(user_id) if user_id is not None else None
    if user is None:  # deleted since the lookup
        raise UnauthorizedError("wrong user or password")
    return user


async def _login(pool: asyncpg.Pool, name: str) -> asyncpg.Record | None:
    """The password login of ``name`` as given, else without its ``@organization``."""
    found = await password_login(pool, name)
    if found is None and "@" in name:
        found = await password_login(pool, name.rpartition("@")[0])
    return found


def _refuse_if_refused(throttle: AuthThrottle, address: str, user_id: int | None = None) -> None:
    """429 if the address (or the user's password login) is refused now."""
    wait = throttle.addresses.wait(address)
    if wait:
        raise ThrottledError(wait, "this client address")
    if user_id is not None:
        wait = throttle.users.wait(user_id)
        if wait:
            raise ThrottledError(wait, "this user")


def _failed(throttle: AuthThrottle, address: str, user_id: int | None) -> None:
    """Count a failure for the address and, when known, the user; say when one is
    refused from now on (no credential in the log: the address and the user id only)."""
    if throttle.addresses.failed(address):
        log.warning(
            "failed authentications throttled", address=address, for_s=throttle.addresses.window_s
        )
    if user_id is not None and throttle.users.failed(user_id):
        log.warning(
            "failed password logins throttled", user_id=user_id, for_s=throttle.users.window_s
        )


def client_key(request: web.Request) -> str:
    """What a client's requests count under for a rate limit: its address (behind a
    trusted proxy, the one X-Forwarded-For names), an IPv6 one as its /64."""
    return address_key(
        client_address(
            request.remote, request.headers.get("X-Forwarded-For"), request.app[_TRUSTED_PROXIES]
        )
    )
