"""Where the store is: REDIS_URL's forms, the Sentinel one parsed, and the secrets a URL may carry.

Plain Python on purpose: bot/config.py validates REDIS_URL with it, and must not pay redis-py's import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

SENTINEL_SCHEME = "redis+sentinel"
SCHEMES = ("redis", "rediss", "unix", SENTINEL_SCHEME)
SENTINEL_FORM = f"{SENTINEL_SCHEME}://[:password@]host:port[,host:port…]/service_name[/db]"
SENTINEL_PORT = 26379


@dataclass(frozen=True)
class SentinelAddress:
    """A Sentinel-managed Redis: the sentinels to ask, the master's service name, its database and credentials.

    The credentials are the Redis servers' (master and replicas); sentinels are asked without AUTH unless they
    require it (then with these).
    """

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> SentinelAddress:
        """The address a ``redis+sentinel://`` URL names; ValueError (never quoting the URL) when it is not one."""
        parts = urlsplit(url)
        if parts.scheme != SENTINEL_SCHEME:
            raise ValueError(f"not a {SENTINEL_SCHEME}:// URL")
        if parts.query or parts.fragment:
            raise ValueError("no ?options or #fragment")
        userinfo, _, hosts = parts.netloc.rpartition("@")
        username, password = _credentials(userinfo)
        service, db = _service(parts.path)
        return cls(tuple(_host_port(host) for host in hosts.split(",")), service, db, username, password)


def is_sentinel(url: str) -> bool:
    """Whether REDIS_URL names Sentinel rather than one Redis."""
    return urlsplit(url).scheme == SENTINEL_SCHEME


def secrets_in(url: str) -> tuple[str, ...]:
    """The password a Redis URL carries (as written and decoded; userinfo or ``?password=``), for redaction."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    written = [userinfo.partition(":")[2]] if ":" in userinfo else []
    written += parse_qs(parts.query).get("password", [])
    return tuple(dict.fromkeys(form for secret in written for form in (secret, unquote(secret)) if form))


def describe(url: str | None) -> str:
    """The store for a log line, without credentials: "redis://host:6379/0", "Sentinel service …", "in-process"."""
    if not url:
        return "in-process (REDIS_URL unset)"
    if is_sentinel(url):
        address = SentinelAddress.parse(url)
        return f"Sentinel service {address.service!r} (db {address.db}) via {len(address.sentinels)} sentinel(s)"
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    if ":" not in userinfo:  # "secret@host" would silently become a user name without a password
        raise ValueError("a password is written :password@")
    username, _, password = userinfo.partition(":")
    return unquote(username) or None, unquote(password) or None


def _host_port(text: str) -> tuple[str, int]:
    parts = urlsplit(f"//{text}")
    if not parts.hostname or parts.username is not None or parts.path:
        raise ValueError("a sentinel is host:port")
    port = SENTINEL_PORT if parts.port is None else parts.port  # .port raises ValueError for a bad port
    if port == 0:
        raise ValueError("a sentinel's port is 1-65535")
    return parts.hostname, port


def _service(path: str) -> tuple[str, int]:
    name, _, db = path.removeprefix("/").partition("/")
    if not name or (db and not db.isdigit()):
        raise ValueError("the path is /service_name[/db]")
    return unquote(name), int(db or 0)
