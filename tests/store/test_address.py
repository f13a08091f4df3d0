from __future__ import annotations

import pytest

from bot.store.address import SentinelAddress, is_sentinel, secrets_in


def test_a_sentinel_url_names_its_sentinels_service_and_database() -> None:
    address = SentinelAddress.parse("redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26380,[::1]:5/mymaster/2")
    assert address.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26380), ("::1", 5))
    assert (address.service, address.db, address.username, address.password) == ("mymaster", 2, None, "s3cret")
    assert "s3cret" not in repr(address)


def test_the_database_port_and_credentials_may_be_left_out_or_written_in_full() -> None:
    plain = SentinelAddress.parse("redis+sentinel://sentinel/cache")
    assert (plain.sentinels, plain.service, plain.db, plain.password) == ((("sentinel", 26379),), "cache", 0, None)
    user = SentinelAddress.parse("redis+sentinel://bot:p%40ss@s1:1,s2:2/cache/")
    assert (user.username, user.password, user.db) == ("bot", "p@ss", 0)


@pytest.mark.parametrize("url", [
    "redis+sentinel://s1:26379",  # no service name
    "redis+sentinel://s1:26379/",
    "redis+sentinel://s1:port/mymaster",
    "redis+sentinel://s1:70000/mymaster",
    "redis+sentinel://s1:0/mymaster",
    "redis+sentinel://s1:26379,/mymaster",  # an empty sentinel
    "redis+sentinel:///mymaster",
    "redis+sentinel://s1/mymaster/zero",
    "redis+sentinel://s1/mymaster/0/1",
    "redis+sentinel://s3cret@s1/mymaster",  # a password without its colon
    "redis+sentinel://s1/mymaster?db=1",
    "redis://s1:6379/0",
])
def test_a_malformed_sentinel_url_is_refused_without_quoting_it(url: str) -> None:
    with pytest.raises(ValueError, match=r"^(?!.*s3cret)"):
        SentinelAddress.parse(url)


def test_only_the_sentinel_scheme_is_sentinel() -> None:
    assert is_sentinel("redis+sentinel://s1/mymaster")
    assert not any(map(is_sentinel, ["redis://h:6379/0", "rediss://h", "unix:///run/redis.sock"]))


@pytest.mark.parametrize(("url", "secrets"), [
    ("redis+sentinel://:s3cret@s1:1,s2:2/mymaster", ("s3cret",)),
    ("redis+sentinel://bot:p@ss@s1/mymaster", ("p@ss",)),  # an unencoded @: the last one ends the credentials
    ("redis://:s3cr%40t@redis:6379/0", ("s3cr%40t", "s3cr@t")),  # as written and as sent to Redis
    ("rediss://user:pw-123456@redis:6380", ("pw-123456",)),
    ("unix:///run/redis.sock?db=0&password=hunter22", ("hunter22",)),
    ("redis://redis:6379/0", ()),
    ("redis://user@redis:6379/0", ()),
])
def test_the_secrets_of_a_url_are_its_password_in_every_form(url: str, secrets: tuple[str, ...]) -> None:
    assert secrets_in(url) == secrets
