"""End to end: the operator's MCP servers (MCP_SERVERS_FILE) with the real process and the real MCP test server
(tests/mcp_server.py, FastMCP) over Streamable HTTP on 127.0.0.1 and over stdio."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tests.bot_process import API_KEY, TOKEN, run_bot_once
from tests.e2e import World
from tests.fake_openai import Behaviour, Call, Reply, ToolCalls
from tests.http_fake import wait_for
from tests.mcp_server import INJECTION, ROOT, McpHttpServer
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


def model(body: dict[str, Any]) -> Behaviour:
    """A model that calls the MCP servers' tools by what the user wrote, then reports what they returned."""
    messages = body["messages"]
    if messages[-1]["role"] == "tool":
        since = max(i for i, m in enumerate(messages) if m["role"] == "user")
        results = [m["content"].splitlines()[-1] for m in messages[since:] if m["role"] == "tool"]
        return Reply("Tool said: " + " | ".join(results))
    asked = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    if asked.startswith("weather "):
        return ToolCalls((Call("remote__forecast", {"city": asked.removeprefix("weather ")}),))
    if asked.startswith("slow "):
        return ToolCalls((Call("remote__slow", {"seconds": float(asked.removeprefix("slow "))}),))
    if asked == "env":
        return ToolCalls((Call("local__whoami", {}), Call("local__notes", {})))
    return Reply("Plain answer.")


def answer(w: World, chat: int, count: int = 1) -> str:
    wait_for(lambda: len(w.telegram.messages(chat)) >= count and w.telegram.messages(chat)[-1].final
             and w.telegram.messages(chat)[-1].text.startswith(("Tool said", "Plain")), timeout=30, what="answer")
    return w.telegram.messages(chat)[-1].text


def tool_messages(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def test_the_model_calls_a_streamable_http_servers_tool_and_gets_its_output_framed(env: World, tmp_path: Path) -> None:
    env.model.default = model
    port = free_port()
    path = servers_file(tmp_path, f"[servers.remote]\nurl = \"http://127.0.0.1:{port}/mcp\"\n"
                                  "deny = [\"explode\"]\n")
    with McpHttpServer(port), env.bot(MCP_SERVERS_FILE=path, TOOLS="none", TOOL_TIMEOUT_SECONDS="2") as bot:
        bot.post(env.telegram.make_update("weather Oslo", chat_id=61))
        assert answer(env, 61) == "Tool said: Sunny in Oslo, 21 °C"
        first, second = env.model.chat_requests()
        offered = {t["function"]["name"]: t["function"] for t in first["tools"]}
        assert "remote__forecast" in offered and "remote__explode" not in offered
        assert offered["remote__forecast"]["description"].startswith("[A tool of the MCP server “remote”]")
        (result,) = tool_messages(second)
        assert result.startswith("[Output of remote__forecast, from the MCP server “remote”: external data")
        bot.post(env.telegram.make_update("slow 5", chat_id=62))  # over TOOL_TIMEOUT_SECONDS
        assert answer(env, 62) == "Tool said: Error: the tool did not finish within 2 seconds."
        assert "🛠 Using slow…" in [text for _, text in env.telegram.messages(62)[0].history]
        bot.post(env.telegram.make_update("weather Rome", chat_id=61))  # the session outlived the timeout
        assert answer(env, 61, 2) == "Tool said: Sunny in Rome, 21 °C"
        metrics = bot.http.get("/metrics").text
    assert 'bot_tool_calls_total{outcome="ok",tool="remote__forecast"} 2.0' in metrics


def test_the_model_calls_a_stdio_server_the_bot_started_with_the_env_of_its_table(env: World, tmp_path: Path) -> None:
    env.model.default = model
    with env.bot(MCP_SERVERS_FILE=servers_file(tmp_path, stdio_table())) as bot:
        bot.post(env.telegram.make_update("env", chat_id=63))
        text = answer(env, 63)
        log = bot.log()
    assert text == f"Tool said: stdio-env | Note: {INJECTION}"  # the injection reached the model as data only
    first = env.model.chat_requests()[0]
    assert {"current_time", "set_reminder", "local__whoami", "local__notes"} <= {
        t["function"]["name"] for t in first["tools"]}
    assert "MCP server local: connected, 6 tool(s)" in log
