"""Which addresses fetch_url may connect to: public ones only (no loopback, private, link-local, CGNAT,
multicast, reserved or cloud-metadata ranges), IPv4 and IPv6 alike, with IPv4 hidden inside IPv6 unwrapped."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Protocol

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # an IPv4 address translated into IPv6
_METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))


class Resolver(Protocol):
    """Looks a host name up: every address it has."""

    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """The system's resolver (getaddrinfo in the event loop's executor)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


def is_public(address: IPAddress) -> bool:
    """Whether an address is on the public internet (an IPv4 address inside an IPv6 one is judged itself)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded(address)
        if embedded is not None:
            return is_public(embedded)
    if address in _METADATA or address.is_multicast or address.is_reserved or address.is_unspecified:
        return False
    return address.is_global


def _embedded(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def literal(host: str) -> IPAddress | None:
    """The address a host names directly ("127.0.0.1", "[::1]"), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None
