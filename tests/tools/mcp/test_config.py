from __future__ import annotations

from pathlib import Path

import pytest

from bot.tools.mcp.config import McpFileError, McpServerConfig, load_servers

EXAMPLE = """
[servers.weather]                 # a Streamable HTTP server
url = "https://mcp.example.com/mcp"
headers = { Authorization = "Bearer s3cret-token" }
allow = ["forecast"]

[servers.files]                   # a stdio server
command = "python"
args = ["-m", "my_mcp_server"]
env = { ROOT = "/srv/files" }
deny = ["delete"]
"""


def written(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mcp.toml"
    path.write_text(text)
    return str(path)


def test_the_issues_example_reads_as_one_http_and_one_stdio_server(tmp_path: Path) -> None:
    weather, files = load_servers(written(tmp_path, EXAMPLE))
    assert weather == McpServerConfig("weather", url="https://mcp.example.com/mcp",
                                      headers=(("Authorization", "Bearer s3cret-token"),),
                                      allow=frozenset({"forecast"}))
    assert files == McpServerConfig("files", command="python", args=("-m", "my_mcp_server"),
                                    env=(("ROOT", "/srv/files"),), deny=frozenset({"delete"}))
    assert (weather.offers("forecast"), weather.offers("alerts")) == (True, False)
    assert (files.offers("read"), files.offers("delete")) == (True, False)
    assert weather.secrets() == ["Bearer s3cret-token"]


def test_no_file_means_no_servers_and_an_empty_table_too(tmp_path: Path) -> None:
    assert load_servers(None) == ()
    assert load_servers(written(tmp_path, "[servers]\n")) == ()


@pytest.mark.parametrize(("text", "problem"), [
    ("[servers.a\nurl = 1", "is not valid TOML"),
    ("title = 'x'", "must hold only [servers.NAME] tables"),
    ("[servers.a]\nurl = 'http://x/mcp'\ncommand = 'y'", "servers.a: needs either url (Streamable HTTP) or command"),
    ("[servers.a]\nargs = ['x']", "servers.a: needs either url"),
    ("[servers.a]\nurl = 'ftp://x/mcp'", "servers.a.url: must be an http:// or https:// URL"),
    ("[servers.a]\nurl = 'http://x/mcp'\nheader = {}", "servers.a: unknown key 'header'"),
    ("[servers.a]\nurl = 'http://x/mcp'\nheaders = { A = 1 }", "servers.a.headers: must be a table of strings"),
    ("[servers.a]\ncommand = 'x'\nargs = 'y'", "servers.a.args: must be a list of strings"),
    ("[servers.a]\ncommand = 'x'\nallow = ['p']\ndeny = ['q']", "servers.a: has both allow and deny"),
    ("[servers.a]\ncommand = 'x'\nallow = 'p'", "servers.a.allow: must be a list of tool names"),
    ("[servers.a]\ncommand = ''", "servers.a.command: must be a non-empty string"),
    ("[servers.a__b]\ncommand = 'x'", "servers.a__b: a server name is"),
    ("[servers.'a b']\ncommand = 'x'", "servers.a b: a server name is"),
    ("[servers]\na = 1", "servers.a: must be a table"),
])
def test_a_broken_file_names_its_first_problem_on_one_line(tmp_path: Path, text: str, problem: str) -> None:
    path = written(tmp_path, text)
    with pytest.raises(McpFileError) as caught:
        load_servers(path)
    assert caught.value.path == path
    assert problem in caught.value.problem and "\n" not in caught.value.problem


def test_a_missing_file_says_it_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(McpFileError, match="cannot be read"):
        load_servers(str(tmp_path / "nowhere.toml"))
