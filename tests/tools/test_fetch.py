"""fetch_url against small sites on loopback addresses: reading pages and documents, and the SSRF guard."""

from __future__ import annotations

import ipaddress
import json
import socket

import pytest

from bot.domain.chat import ChatKey
from bot.domain.tools import Progress, ToolContext, ToolError
from bot.tools.address import IPAddress, is_public
from bot.tools.fetch import FetchUrl
from tests.tools.local_site import Answer, site

CONTEXT = ToolContext(ChatKey(1), user_id=1)
ARTICLE = (b"<html><head><title>Cats page</title></head><body><nav>Home | About | Contact</nav><article>"
           b"<h1>All about cats</h1><p>Cats are small carnivorous mammals. They are often kept as pets and are "
           b"loved around the world for their companionship.</p><p>They sleep a lot, sometimes sixteen hours a "
           b"day.</p></article><footer>Copyright nobody</footer><script>var secret = 1;</script></body></html>")


class Names:
    """A resolver with fixed answers, counting lookups."""

    def __init__(self, **names: list[str]) -> None:
        self.names = {name.replace("_", "."): addresses for name, addresses in names.items()}
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.names:
            raise socket.gaierror("no such host")
        return self.names[host]


def only_loopback_one(address: IPAddress) -> bool:
    """A policy under which 127.0.0.1 plays the public internet (there is no other in tests)."""
    return address == ipaddress.ip_address("127.0.0.1") or is_public(address)


def pdf(text: str) -> bytes:
    stream = f"BT /F1 18 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref


async def read(tool: FetchUrl, url: str) -> str:
    return await tool.run({"url": url}, CONTEXT)


async def test_a_page_gives_its_title_and_main_text_without_navigation_or_scripts() -> None:
    async with site(page=Answer(body=ARTICLE, content_type="text/html; charset=utf-8")) as local:
        text = await read(FetchUrl(allow_private=True), local.root + "/page")
    assert text.startswith(f"URL: {local.root}/page\n\nTitle: All about cats\n\n")
    assert "They sleep a lot" in text
    assert "var secret" not in text and "Home | About" not in text


async def test_plain_text_json_and_pdf_are_read() -> None:
    async with site(notes=Answer(body="Plain words, ünïcode.".encode()),
                    data=Answer(body=b'{"a": [1, 2]}', content_type="application/json"),
                    doc=Answer(body=pdf("Hello from a PDF"), content_type="application/pdf")) as local:
        tool = FetchUrl(allow_private=True)
        assert (await read(tool, local.root + "/notes")).endswith("Plain words, ünïcode.")
        assert json.loads((await read(tool, local.root + "/data")).split("\n\n", 1)[1]) == {"a": [1, 2]}
        assert "Hello from a PDF" in await read(tool, local.root + "/doc")


async def test_at_most_the_size_limit_is_read() -> None:
    async with site(big=Answer(body=b"x" * 50_000)) as local:
        text = await read(FetchUrl(allow_private=True, max_bytes=1000), local.root + "/big")
    assert text.count("x") == 1000 and text.endswith("[the rest of the document is left out]")


async def test_a_url_that_does_not_answer_in_time_is_an_error() -> None:
    async with site(slow=Answer(hang=True)) as local:
        with pytest.raises(ToolError, match=r"did not answer within 0\.2 seconds"):
            await read(FetchUrl(allow_private=True, max_seconds=0.2), local.root + "/slow")


async def test_an_error_status_and_an_unreadable_type_are_errors() -> None:
    async with site(image=Answer(body=b"\x89PNG", content_type="image/png")) as local:
        tool = FetchUrl(allow_private=True)
        with pytest.raises(ToolError, match="HTTP 404"):
            await read(tool, local.root + "/missing")
        with pytest.raises(ToolError, match="cannot read a document of type image/png"):
            await read(tool, local.root + "/image")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x", "http://", "javascript:1"])
async def test_only_http_and_https_urls_are_read(url: str) -> None:
    with pytest.raises(ToolError, match="only http:// and https://"):
        await read(FetchUrl(allow_private=True), url)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_loopback_is_refused_without_a_connection(host: str) -> None:
    try:
        served = site(host, page=Answer(body=b"private"))
        local = await served.__aenter__()
    except OSError:
        pytest.skip(f"no {host} on this machine")
    try:
        with pytest.raises(ToolError, match="refused"):
            await read(FetchUrl(), local.root + "/page")
        assert local.connections == 0
        assert (await read(FetchUrl(allow_private=True), local.root + "/page")).endswith("private")
        assert local.connections == 1  # the same URL is read once private networks are allowed
    finally:
        await served.__aexit__(None, None, None)


@pytest.mark.parametrize("url", ["http://10.0.0.1/", "http://10.200.3.4:8080/admin", "http://169.254.169.254/latest/",
                                 "http://[fd00:ec2::254]/", "http://[::ffff:169.254.169.254]/", "http://100.64.0.1/",
                                 "http://0.0.0.0:80/", "http://[::ffff:127.0.0.1]/"])
async def test_private_and_metadata_addresses_are_refused_before_connecting(url: str) -> None:
    names = Names()
    with pytest.raises(ToolError, match="refused"):
        await read(FetchUrl(resolver=names), url)
    assert names.lookups == []  # an address is judged as written, never looked up


async def test_a_name_resolving_to_a_private_address_is_refused_without_a_connection() -> None:
    async with site(page=Answer(body=b"intranet")) as local:
        names = Names(intranet_example=["127.0.0.1"], mixed_example=["93.184.215.14", "10.1.2.3"])
        with pytest.raises(ToolError, match=r"refused: intranet\.example"):
            await read(FetchUrl(resolver=names), f"http://intranet.example:{local.port}/page")
        with pytest.raises(ToolError, match=r"refused: mixed\.example"):  # every address must be public
            await read(FetchUrl(resolver=names), f"http://mixed.example:{local.port}/page")
        assert local.connections == 0


async def test_the_connection_goes_to_the_checked_address_without_a_second_lookup() -> None:
    async with site(page=Answer(body=b"reached")) as local:
        names = Names(pinned_example=["127.0.0.1"])  # a name no real resolver knows
        text = await read(FetchUrl(resolver=names, public=only_loopback_one), f"http://pinned.example:{local.port}/page")
    assert text.endswith("reached") and names.lookups == ["pinned.example"]


async def test_a_public_url_redirecting_to_a_private_one_is_refused_without_connecting_to_it() -> None:
    async with site("127.0.0.2", secret=Answer(body=b"the keys")) as private:
        redirects = {"to-name": f"http://internal.example:{private.port}/secret", "to-ip": f"{private.root}/secret",
                     "to-metadata": "http://169.254.169.254/latest/meta-data/"}
        pages = {name: Answer(302, headers=(("Location", target),)) for name, target in redirects.items()}
        async with site("127.0.0.1", **pages) as public:
            tool = FetchUrl(resolver=Names(internal_example=["127.0.0.2"]), public=only_loopback_one)
            for name in redirects:
                with pytest.raises(ToolError, match="refused"):
                    await read(tool, f"{public.root}/{name}")
            assert public.connections == 3 and private.connections == 0


async def test_redirects_are_followed_a_few_times_only() -> None:
    async with site(loop=Answer(302, headers=(("Location", "/loop"),)), start=Answer(301, headers=(
            ("Location", "/end"),)), end=Answer(body=b"arrived")) as local:
        tool = FetchUrl(allow_private=True)
        assert (await read(tool, local.root + "/start")).startswith(f"URL: {local.root}/end")
        with pytest.raises(ToolError, match="more than 5 redirects"):
            await read(tool, local.root + "/loop")


def test_progress_names_the_site() -> None:
    assert FetchUrl().progress({"url": "https://www.example.com/a/b?c"}) == Progress("read", "example.com")
    assert FetchUrl().progress({}) == Progress("read", "a web page")


@pytest.mark.parametrize("name", ["localhost", "2130706433", "0x7f.1"])
async def test_names_and_numbers_that_the_system_resolves_to_loopback_are_refused(name: str) -> None:
    async with site(page=Answer(body=b"private")) as local:
        with pytest.raises(ToolError, match="refused"):
            await read(FetchUrl(), f"http://{name}:{local.port}/page")
        assert local.connections == 0
