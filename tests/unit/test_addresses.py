"""A client's address for its limits: IPv4 as it is, IPv6 by its /64, nothing for a client off the network."""

from __future__ import annotations

import pytest

from chatroom.addresses import client_address


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
    ],
)
def test_an_ip_client_is_known_by_its_address_and_an_ipv6_one_by_its_64(host: str, address: str) -> None:
    assert client_address({"client": (host, 1234)}) == address


def test_two_ipv6_networks_are_two_addresses() -> None:
    assert client_address({"client": ("2001:db8:1:2::1", 1)}) != client_address({"client": ("2001:db8:1:3::1", 1)})


@pytest.mark.parametrize("client", [None, ("testclient", 50000), ("/run/app.sock", 0), ("", 0)])
def test_a_client_off_the_network_has_no_address(client: tuple[str, int] | None) -> None:
    assert client_address({"client": client}) is None
