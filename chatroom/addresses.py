"""Which client a request or connection comes from, for the limits that cookies and connections cannot dodge.

The address is `scope["client"]` as the server resolved it: uvicorn replaces the peer with the
`X-Forwarded-For` entry the platform's proxy added only when the peer is one of the proxies it
trusts (`FORWARDED_ALLOW_IPS`), so a client cannot choose its own address by sending the header.
A client that is not on the network (a Unix socket's, an in-process test client's) has no address,
and no limit by address: those exist because addresses cost an attacker something.
"""

from __future__ import annotations

import ipaddress

from starlette.types import Scope

# One IPv6 subscriber gets a /64 (or more) to itself: counting its addresses one by one would let it
# rotate through 2**64 of them.
IPV6_PREFIX = 64


def client_address(scope: Scope) -> str | None:
    """The client's address, as the key of its limits: an IPv4 address or an IPv6 /64; None off the network."""
    client = scope.get("client")
    host = client[0] if client else None
    if not isinstance(host, str):
        return None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)
