from __future__ import annotations

import ipaddress

import pytest

from bot.tools.address import is_public, literal


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "::1", "10.0.0.1", "10.255.255.255", "172.16.0.1", "192.168.1.1",
    "169.254.169.254", "169.254.1.1", "fe80::1", "100.64.0.1", "100.127.255.254", "224.0.0.1", "239.1.2.3",
    "ff02::1", "0.0.0.0", "::", "240.0.0.1", "255.255.255.255", "fd00:ec2::254", "fc00::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:a00:1::", "64:ff9b::a00:1",
    "192.0.2.1", "198.18.0.1",
])
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8",
                                     "64:ff9b::808:808"])
def test_internet_addresses_are_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_literal_hosts_are_read_as_addresses() -> None:
    assert literal("127.0.0.1") == ipaddress.ip_address("127.0.0.1")
    assert literal("[::1]") == ipaddress.ip_address("::1")
    assert literal("example.com") is None
