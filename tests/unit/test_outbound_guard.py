"""The outbound network policy: its rule matrix, literal URLs, and real connections."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from ilertd.outbound.guard import (
    DestinationDeniedError,
    GuardedResolver,
    NetworkPolicy,
    check_url,
    make_connector,
)

DENY_PRIVATE = NetworkPolicy(deny_private=True)


def denied(policy: NetworkPolicy, address: str) -> bool:
    try:
        policy.check(address)
    except DestinationDeniedError:
        return True
    return False


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "8.8.8.8",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",  # NAT64 of a public address
        "2002:808:808::1",  # 6to4 of a public address
    ],
)
def test_public_addresses_pass_deny_private(address: str) -> None:
    assert not denied(DENY_PRIVATE, address)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CGNAT
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "192.0.2.1",
        "::1",
        "::",
        "fd00::1",
        "fc00::1",
        "fe80::1",
        "fe80::1%eth0",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
    ],
)
def test_non_public_addresses_are_denied_by_deny_private(address: str) -> None:
    assert denied(DENY_PRIVATE, address)


@pytest.mark.parametrize(
    ("address", "label"),
    [
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "cloud metadata"),
        ("100.100.100.200", "CGNAT"),
        ("64:ff9b:1::1", "local-use NAT64"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata behind 6to4/NAT64"),
        ("fd00::1", "unique local"),
    ],
)
def test_denial_reports_the_most_specific_range(address: str, label: str) -> None:
    with pytest.raises(DestinationDeniedError, match=re.escape(label)):
        DENY_PRIVATE.check(address)


def test_default_policy_allows_everything_and_is_permissive() -> None:
    policy = NetworkPolicy()
    assert policy.is_permissive
    for address in ("127.0.0.1", "169.254.169.254", "::1", "8.8.8.8"):
        policy.check(address)


def test_denial_names_host_address_and_rule() -> None:
    with pytest.raises(DestinationDeniedError) as caught:
        DENY_PRIVATE.check("169.254.169.254", "metadata.internal")
    message = str(caught.value)
    assert "metadata.internal" in message
    assert "169.254.169.254" in message
    assert "deny_private" in message and "link-local" in message
    assert caught.value.host == "metadata.internal"
    assert caught.value.address == "169.254.169.254"


def test_explicit_deny_applies_without_deny_private() -> None:
    policy = NetworkPolicy.from_config(
        allow=[], deny=["203.0.113.0/24", "8.8.4.4"], deny_private=False
    )
    assert not policy.is_permissive
    assert denied(policy, "203.0.113.7")
    assert denied(policy, "8.8.4.4")
    assert not denied(policy, "8.8.8.8")
    assert not denied(policy, "10.0.0.1")
    with pytest.raises(DestinationDeniedError, match=r"deny entry 8\.8\.4\.4/32"):
        policy.check("8.8.4.4")


def test_explicit_ipv4_deny_also_matches_the_mapped_ipv6_form() -> None:
    policy = NetworkPolicy.from_config(allow=[], deny=["8.8.4.4"], deny_private=False)
    assert denied(policy, "::ffff:8.8.4.4")


def test_allow_is_an_exception_to_deny_private() -> None:
    policy = NetworkPolicy.from_config(allow=["10.20.0.0/16"], deny=[], deny_private=True)
    assert not denied(policy, "10.20.3.4")
    assert not denied(policy, "::ffff:10.20.3.4")
    assert denied(policy, "10.21.0.1")
    assert denied(policy, "127.0.0.1")
    assert not denied(policy, "8.8.8.8")  # allow is no allow-list: public still passes


def test_explicit_deny_beats_allow() -> None:
    policy = NetworkPolicy.from_config(
        allow=["10.20.0.0/16"], deny=["10.20.99.0/24"], deny_private=True
    )
    assert not denied(policy, "10.20.1.1")
    with pytest.raises(DestinationDeniedError, match=r"deny entry 10\.20\.99\.0/24"):
        policy.check("10.20.99.5")


def test_allow_alone_changes_nothing() -> None:
    policy = NetworkPolicy.from_config(allow=["10.0.0.0/8"], deny=[], deny_private=False)
    assert policy.is_permissive
    assert not denied(policy, "8.8.8.8")
    assert not denied(policy, "192.168.0.1")


@pytest.mark.parametrize(
    ("allow", "deny", "bad"),
    [
        (["10.0.0.0/33"], [], "10.0.0.0/33"),
        ([], ["not-a-network"], "not-a-network"),
        ([], ["10.0.0.1/8"], "10.0.0.1/8"),  # host bits set: almost surely a typo
        (["fd00::/129"], [], "fd00::/129"),
    ],
)
def test_bad_entries_are_value_errors_naming_them(
    allow: list[str], deny: list[str], bad: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(bad)) as caught:
        NetworkPolicy.from_config(allow=allow, deny=deny, deny_private=True)
    assert ("allow" if allow else "deny") in str(caught.value)


def test_check_rejects_a_non_address() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        DENY_PRIVATE.check("example.com")


# --- check_url: literal hosts, which aiohttp never hands to a resolver ---


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "https://10.0.0.1:8443/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://[fd12:3456::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1%25eth0]/",
        "http://0x7f.1/",  # legacy IPv4 form that getaddrinfo maps to 127.0.0.1
        "http://2130706433/",
    ],
)
def test_check_url_denies_private_literals(url: str) -> None:
    with pytest.raises(DestinationDeniedError):
        check_url(url, DENY_PRIVATE)


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.215.14/",
        "http://[2606:4700:4700::1111]/",
        "https://hooks.example.com/x",  # names are left to the resolver
        "http://localhost:8080/",
    ],
)
def test_check_url_passes_public_literals_and_names(url: str) -> None:
    check_url(url, DENY_PRIVATE)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/"])
def test_check_url_rejects_other_schemes(url: str) -> None:
    with pytest.raises(ValueError, match="scheme"):
        check_url(url, NetworkPolicy())


def test_check_url_rejects_a_url_without_host() -> None:
    with pytest.raises(ValueError, match="no host"):
        check_url("http:///path", NetworkPolicy())


# --- real connections through make_connector ---


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    """A web server on 127.0.0.1; /redirect sends the client to 127.0.0.2 (also loopback)."""

    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://127.0.0.2:{request.url.port}/")

    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_get("/redirect", redirect)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def fetch(policy: NetworkPolicy, url: str) -> int:
    async with aiohttp.ClientSession(connector=make_connector(policy)) as session:
        async with session.get(url) as response:
            await response.read()
            return response.status


async def test_resolved_loopback_is_denied_with_a_clear_error(server: TestServer) -> None:
    with pytest.raises(DestinationDeniedError) as caught:
        await fetch(DENY_PRIVATE, f"http://localhost:{server.port}/")
    assert caught.value.host == "localhost"
    assert "loopback" in str(caught.value)


async def test_allowed_subnet_connects(server: TestServer) -> None:
    policy = NetworkPolicy.from_config(allow=["127.0.0.0/8", "::1"], deny=[], deny_private=True)
    assert await fetch(policy, f"http://localhost:{server.port}/") == 200


async def test_permissive_policy_gives_a_plain_connector(server: TestServer) -> None:
    connector = make_connector(NetworkPolicy(), limit=7)
    assert not isinstance(connector._resolver, GuardedResolver)
    assert connector.limit == 7
    await connector.close()
    assert await fetch(NetworkPolicy(), f"http://127.0.0.1:{server.port}/") == 200


async def test_literal_is_denied_by_check_url(server: TestServer) -> None:
    with pytest.raises(DestinationDeniedError, match=r"127\.0\.0\.1"):
        check_url(f"http://127.0.0.1:{server.port}/", DENY_PRIVATE)


async def test_literal_that_skips_check_url_is_still_denied_at_connect(server: TestServer) -> None:
    with pytest.raises(aiohttp.ClientConnectorError) as caught:
        await fetch(DENY_PRIVATE, f"http://127.0.0.1:{server.port}/")
    assert isinstance(caught.value.os_error, DestinationDeniedError)
    assert "denied by deny_private" in str(caught.value)


async def test_redirect_to_a_denied_literal_is_refused(server: TestServer) -> None:
    policy = NetworkPolicy.from_config(allow=[], deny=["127.0.0.2"], deny_private=False)
    assert await fetch(policy, f"http://localhost:{server.port}/") == 200
    with pytest.raises(aiohttp.ClientConnectorError) as caught:
        await fetch(policy, f"http://localhost:{server.port}/redirect")
    assert isinstance(caught.value.os_error, DestinationDeniedError)
    assert caught.value.os_error.address == "127.0.0.2"


class HostsFile(AbstractResolver):
    """Fixed answers, like /etc/hosts, for a name with several addresses (none exists here)."""

    def __init__(self, entries: dict[str, list[str]]) -> None:
        self.entries = entries

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host, host=address, port=port, family=socket.AF_INET, proto=0, flags=0
            )
            for address in self.entries[host]
        ]

    async def close(self) -> None:
        pass


async def test_denied_answers_are_dropped_and_the_rest_used(server: TestServer) -> None:
    policy = NetworkPolicy.from_config(allow=[], deny=["127.0.0.2"], deny_private=False)
    hosts = HostsFile({"mixed.test": ["127.0.0.2", "127.0.0.1"], "denied.test": ["127.0.0.2"]})
    resolver = GuardedResolver(policy, inner=hosts)

    assert [r["host"] for r in await resolver.resolve("mixed.test", server.port)] == ["127.0.0.1"]
    with pytest.raises(DestinationDeniedError, match=r"denied\.test \(127\.0\.0\.2\)"):
        await resolver.resolve("denied.test", server.port)

    connector = aiohttp.TCPConnector(resolver=resolver)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(f"http://mixed.test:{server.port}/") as response:
            assert response.status == 200
