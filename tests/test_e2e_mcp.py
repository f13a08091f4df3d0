"""End to end: the operator's MCP servers (MCP_SERVERS_FILE) with the real process and the real MCP test server
(tests/mcp_server.py, FastMCP) over Streamable HTTP on 127.0.0.1 and over stdio."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.bot_process import API_KEY, TOKEN, run_bot_once
from tests.e2e import World
from tests.http_fake import wait_for
from tests.mcp_server import ROOT, McpHttpServer
from tests.redis_server import free_port


def servers_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mcp.toml"
    path.write_text(text)
    return str(path)


def stdio_table(name: str = "local") -> str:
    return (f"[servers.{name}]\ncommand = {sys.executable!r}\nargs = [\"-m\", \"tests.mcp_server\"]\n"
            f"env = {{ PYTHONPATH = {str(ROOT)!r}, MCP_TEST_ENV = \"stdio-env\" }}\n")


def test_a_broken_servers_file_stops_the_start_with_one_line_naming_it(env: World, tmp_path: Path) -> None:
    broken = servers_file(tmp_path, "[servers.weather]\nurl = \"https://x.example/mcp\"\ncommand = \"python\"\n")
    credentials = {"TELEGRAM_BOT_TOKEN": TOKEN, "OPENAI_API_KEY": API_KEY}
    done = run_bot_once(env.env(MCP_SERVERS_FILE=broken, **credentials))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"configuration error: MCP servers file {broken}: servers.weather: needs either url (Streamable HTTP) or "
        "command (stdio)"]
    missing = run_bot_once(env.env(MCP_SERVERS_FILE=str(tmp_path / "nowhere.toml"), **credentials))
    assert missing.returncode == 2 and "nowhere.toml: cannot be read" in missing.stderr


def test_a_server_down_at_start_is_not_fatal_and_logged_once(env: World, tmp_path: Path) -> None:
    port = free_port()
    path = servers_file(tmp_path, f"[servers.later]\nurl = \"http://127.0.0.1:{port}/mcp\"\n"
                                  "headers = { Authorization = \"Bearer very-secret-token\" }\n")
    with env.bot(MCP_SERVERS_FILE=path) as bot, McpHttpServer(port):
        assert bot.http.get("/healthz").status_code == 200
        wait_for(lambda: "MCP server later: connected, 6 tool(s)" in bot.log(), timeout=30, what="the server up")
        log = bot.log()
    assert log.count("MCP server later is unavailable") == 1
    assert "very-secret-token" not in log
