"""The failure throttle's counting, windows, address keys and bounded memory (no server)."""

from __future__ import annotations

import ipaddress

import pytest

from ilertd.http.throttle import FailureTable, address_key, client_address, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_n_failures_in_a_window_refuse_the_key_for_a_window() -> None:
    clock = Clock()
    table = FailureTable(max_failures=3, window_s=60, max_entries=10, clock=clock)
    assert [table.failed("a"), table.failed("a")] == [False, False]
    assert table.wait("a") == 0
    clock.now += 59
    assert table.failed("a") is True  # the third within 60 s of the first
    assert table.wait("a") == 60
    assert table.wait("b") == 0  # another key is not affected
    clock.now += 59.5
    assert table.wait("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert table.wait("a") == 0
    # counting starts afresh after the refusal
    assert [table.failed("a"), table.failed("a"), table.failed("a")] == [False, False, True]


def test_failures_spread_wider_than_the_window_never_refuse() -> None:
    clock = Clock()
    table = FailureTable(max_failures=3, window_s=60, max_entries=10, clock=clock)
    for _ in range(10):
        assert table.failed("a") is False
        clock.now += 31  # two per window at most
        if table.failed("a"):
            pytest.fail("refused although no window held three failures")
        clock.now += 31
    assert table.wait("a") == 0


def test_memory_is_bounded_and_the_least_recently_failed_go_first() -> None:
    clock = Clock()
    table = FailureTable(max_failures=2, window_s=60, max_entries=100, clock=clock)
    table.failed("attacker")
    table.failed("attacker")
    for n in range(99):
        table.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(table) == 100 and table.wait("attacker") > 0
    for n in range(10_000):  # an attacker cycling addresses
        table.failed(f"10.1.{n // 256}.{n % 256}")
        clock.now += 0.001
    assert len(table) == 100
    assert table.wait("attacker") == 0  # pushed out: forgotten, as documented
    table.failed("recent")
    table.failed("10.1.39.15")  # the newest cycled address fails again: it stays
    table.failed("x")
    assert table.wait("recent") == 0 and len(table) == 100


@pytest.mark.parametrize(
    ("remote", "key"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # same /64, same key
        ("::ffff:192.0.2.7", "192.0.2.7"),  # IPv4 on an IPv6 socket
        (None, "unknown"),
        ("", "unknown"),
        ("/run/ilertd.sock", "/run/ilertd.sock"),  # not an IP (a unix socket): as given
    ],
)
def test_address_keys(remote: str | None, key: str) -> None:
    assert address_key(remote) == key


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    assert [retry_after(w) for w in (0.01, 1.0, 1.2, 59.9)] == ["1", "1", "2", "60"]


PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "client"),
    [
        # no trusted proxies: the header is anyone's claim and is ignored
        ("10.0.0.5", "203.0.113.7", (), "10.0.0.5"),
        # the connection is no trusted proxy: the header is ignored
        ("198.51.100.2", "203.0.113.7", PROXIES, "198.51.100.2"),
        # through the proxy: the client it names
        ("10.0.0.5", "203.0.113.7", PROXIES, "203.0.113.7"),
        # a forged entry on the left does not help: the rightmost untrusted hop counts
        ("10.0.0.5", "1.1.1.1, 203.0.113.7", PROXIES, "203.0.113.7"),
        # several proxies: skipped from the right
        ("::1", "203.0.113.7, 10.1.1.1", PROXIES, "203.0.113.7"),
        ("10.0.0.5", None, PROXIES, "10.0.0.5"),
        ("10.0.0.5", " , ", PROXIES, "10.0.0.5"),
        ("10.0.0.5", "10.2.2.2", PROXIES, "10.2.2.2"),
    ],
)
def test_client_address_behind_trusted_proxies(
    remote: str, forwarded: str | None, trusted: tuple, client: str
) -> None:
    assert client_address(remote, forwarded, trusted) == client
