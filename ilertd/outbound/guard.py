"""Destination-network policy for outbound webhooks, so a webhook URL cannot reach inside.

A webhook target is chosen by whoever configures an alert action; without a guard it can
point ilertd at the cloud metadata service, the database, or anything else on the host's
networks (SSRF). The policy is enforced on the address aiohttp actually connects to:

- ``GuardedResolver`` checks every address a host name resolves to, at resolve time, drops
  the denied ones and fails when none is left; aiohttp connects only to the addresses it
  returns, so a DNS answer cannot be swapped between check and connect (DNS rebinding).
- aiohttp does not call the resolver for IP-literal hosts (``TCPConnector._resolve_host``
  returns them as they are), so ``check_url`` checks literal hosts before a request, and the
  connector from ``make_connector`` checks the socket address once more just before
  connecting, which also covers a redirect to a literal address.

How a denial reaches the caller: ``check_url`` and a denied host name raise
``DestinationDeniedError`` itself (aiohttp lets a non-OSError from the resolver through).
The connect-time check can only fail with an OSError, so aiohttp wraps it: the caller gets
``aiohttp.ClientConnectorError`` whose ``os_error`` is a ``DestinationDeniedError``.
With a proxy the checked address is the proxy's, so guarded sessions must not use one.

Rules, in order (the first that applies decides):

1. An address in ``deny`` is denied. Nothing overrides an explicit deny.
2. An address in ``allow`` passes. ``allow`` is only an exception list to ``deny_private``
   (e.g. allow ``10.20.0.0/16`` and deny every other internal network); it never turns the
   policy into an allow-list, so with ``deny_private`` off it changes nothing.
3. With ``deny_private``, every address that is not public unicast is denied: loopback,
   private (RFC 1918, ``fc00::/7``), link-local (``169.254.0.0/16`` with the metadata address
   ``169.254.169.254``, ``fe80::/10``), unspecified, CGNAT ``100.64.0.0/10``, multicast,
   documentation, benchmarking and reserved ranges, and the IPv6 forms that carry such an
   IPv4 address (``::ffff:0:0/96`` mapped, ``2002::/16`` 6to4, ``64:ff9b::/96`` NAT64).
4. Everything else passes.

An IPv4-mapped IPv6 address is the IPv4 host it maps, so all rules see it as IPv4 as well.
The special ranges are listed here rather than taken from ``ipaddress``'s ``is_private``,
whose answers change between Python releases.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import aiohttp
import structlog
from aiohappyeyeballs import AddrInfoType, SocketFactoryType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

log = structlog.get_logger(__name__)

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})


def _table(*rows: tuple[str, str]) -> tuple[tuple[Network, str], ...]:
    """Most specific network first, so the first match gives the most precise label."""
    networks = [(ip_network(cidr), label) for cidr, label in rows]
    return tuple(sorted(networks, key=lambda row: -row[0].prefixlen))


#: Networks that are not public unicast, with the name a denial reports.
NON_PUBLIC: tuple[tuple[Network, str], ...] = _table(
    ("0.0.0.0/8", "unspecified / this network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "CGNAT shared"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local / cloud metadata"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/8", "reserved"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing"),
    ("fc00::/7", "unique local (private)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
)

_NAT64 = IPv6Network("64:ff9b::/96")


class DestinationDeniedError(Exception):
    """The network policy forbids connecting to this address; retrying will not help."""

    def __init__(self, host: str, address: str, rule: str) -> None:
        self.host = host
        self.address = address
        self.rule = rule
        target = f"{host} ({address})" if host and host != address else address
        super().__init__(f"destination {target} denied by {rule}")


class _DeniedConnectError(DestinationDeniedError, OSError):
    """The same denial as an OSError: happy-eyeballs drops any other error a socket raises.

    aiohttp reports it as ``ClientConnectorError`` whose ``os_error`` is this denial.
    """

    def __init__(self, denial: DestinationDeniedError) -> None:
        DestinationDeniedError.__init__(self, denial.host, denial.address, denial.rule)
        self.errno = errno.EACCES
        self.strerror = str(denial)


@dataclass(frozen=True)
class NetworkPolicy:
    """Which destination addresses outbound requests may connect to (see module docstring)."""

    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()
    deny_private: bool = False

    @classmethod
    def from_config(
        cls, allow: Sequence[str], deny: Sequence[str], deny_private: bool
    ) -> NetworkPolicy:
        """Parse CIDRs or single addresses; a bad entry is a ValueError that names it."""
        return cls(
            allow=_parse_networks("allow", allow),
            deny=_parse_networks("deny", deny),
            deny_private=deny_private,
        )

    @property
    def is_permissive(self) -> bool:
        """True when no address can be denied, so callers can skip the checks."""
        return not self.deny and not self.deny_private

    def check(self, address: str, host: str = "") -> None:
        """Raise DestinationDeniedError if ``address`` (an IP, ``host`` its name) is denied."""
        rule = self.denial(_parse_address(address))
        if rule is not None:
            raise DestinationDeniedError(host, address, rule)

    def denial(self, address: Address) -> str | None:
        """The rule that denies ``address``, or None when it may be connected to."""
        forms = _forms(address)
        denied_by = _first_match(forms, self.deny)
        if denied_by is not None:
            return f"deny entry {denied_by}"
        if not self.deny_private or _first_match(forms, self.allow) is not None:
            return None
        label = _non_public_label(forms[-1])
        return None if label is None else f"deny_private ({label} address)"


def _parse_networks(field: str, entries: Sequence[str]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ip_network(entry.strip()))
        except ValueError as exc:
            raise ValueError(f"invalid {field} entry {entry!r}: {exc}") from None
    return tuple(networks)


def _parse_address(address: str) -> Address:
    try:
        return ip_address(address)
    except ValueError:
        raise ValueError(f"not an IP address: {address!r}") from None


def _forms(address: Address) -> tuple[Address, ...]:
    """The address, then the IPv4 host it maps if it is IPv4-mapped IPv6 (the canonical form)."""
    mapped = address.ipv4_mapped if isinstance(address, IPv6Address) else None
    return (address,) if mapped is None else (address, mapped)


def _first_match(forms: tuple[Address, ...], networks: tuple[Network, ...]) -> Network | None:
    return next((net for net in networks for form in forms if form in net), None)


def _non_public_label(address: Address) -> str | None:
    """Why ``address`` is not public unicast, or None if it is."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner = _non_public_label(embedded)
        return None if inner is None else f"{inner} behind 6to4/NAT64"
    return next((label for net, label in NON_PUBLIC if address in net), None)


def _embedded_ipv4(address: Address) -> IPv4Address | None:
    """The IPv4 address a 6to4 or NAT64 address reaches."""
    if not isinstance(address, IPv6Address):
        return None
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour


class GuardedResolver(AbstractResolver):
    """Resolves with the system resolver, then drops the addresses the policy denies.

    A name whose every address is denied raises DestinationDeniedError; aiohttp passes it to
    the caller unwrapped (it only wraps OSError from a resolver, as ClientConnectorDNSError,
    which callers would take for a retryable DNS failure).

    The default inner resolver is ThreadedResolver (getaddrinfo, as aiohttp does without
    aiodns): it holds nothing, which matters because a connector never closes a resolver
    it was handed.
    """

    def __init__(self, policy: NetworkPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        first_denial: DestinationDeniedError | None = None
        for result in results:
            try:
                self._policy.check(result["host"], host)
            except DestinationDeniedError as exc:
                log.warning(
                    "outbound address denied", host=host, address=exc.address, rule=exc.rule
                )
                if first_denial is None:
                    first_denial = exc
            else:
                allowed.append(result)
        if not allowed and first_denial is not None:
            raise first_denial
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def check_url(url: str, policy: NetworkPolicy) -> None:
    """Refuse a URL that is not http(s), or whose host is an IP literal the policy denies.

    Host names are left to GuardedResolver, which checks what they resolve to.
    """
    parsed = URL(url)
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise ValueError(f"URL scheme must be http or https, not {parsed.scheme!r}: {url}")
    host = parsed.host
    if not host:
        raise ValueError(f"URL has no host: {url}")
    address = _literal_address(host)
    if address is not None and not policy.is_permissive:
        rule = policy.denial(address)
        if rule is not None:
            raise DestinationDeniedError(host, str(address), rule)


def _literal_address(host: str) -> Address | None:
    """The address a literal host means, including legacy IPv4 forms like ``0x7f.1``."""
    try:
        return ip_address(host)
    except ValueError:
        pass
    try:
        return IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def make_connector(policy: NetworkPolicy, *, limit: int = 100) -> aiohttp.TCPConnector:
    """A connector that enforces ``policy``; a plain one when the policy denies nothing."""
    if policy.is_permissive:
        return aiohttp.TCPConnector(limit=limit)
    return aiohttp.TCPConnector(
        limit=limit,
        resolver=GuardedResolver(policy),
        socket_factory=_guarded_socket_factory(policy),
    )


def _guarded_socket_factory(policy: NetworkPolicy) -> SocketFactoryType:
    """Check the socket address just before connecting: the one path the resolver misses."""

    def create(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        address = str(sockaddr[0])
        try:
            policy.check(address)
        except DestinationDeniedError as exc:
            log.warning("outbound address denied", address=address, rule=exc.rule)
            raise _DeniedConnectError(exc) from None
        return socket.socket(family=family, type=type_, proto=proto)

    return create
