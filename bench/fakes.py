"""Lean fake Bot API and OpenAI servers for the load benchmark, in a process of their own.

    python -m bench.fakes [--chunk 12] [--delay 0.08]    (prints {"port": N} once it listens)

One asyncio loop and raw HTTP/1.1 (bench.httpwire) with canned answers, so the bot's CPU is measured, not the
fakes'. Bot API calls go to /bot<token>/<method>, OpenAI calls to /v1/...; a user text starting with "go" is
answered with STREAM_TEXT, streamed in pieces, anything else with "ok". Per chat it records when the first
sendChatAction/sendMessage arrived (time.monotonic(): CLOCK_MONOTONIC, the same clock in every process on Linux)
and the text the chat shows now; /__progress, /__stats and /__lag hand those to the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from bench.httpwire import LAST_CHUNK, SSE_HEAD, Message, chunk, read_message, response

STREAM_TEXT = "This answer streams for a few seconds, word by word, like a real model. " * 6
SHORT_TEXT = "ok"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Bench Bot", "username": "bench_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
_FIRST_CALLS = frozenset({"sendchataction", "sendmessage"})


@dataclass
class ChatRecord:
    """What one chat saw: when the bot first called for it, and its messages (text, has a keyboard)."""

    first_call: float | None = None
    shown: dict[int, tuple[str, bool]] = field(default_factory=dict)

    @property
    def final_text(self) -> str | None:
        """The last message's text once it lost its Stop button (the answer is complete), else None."""
        if not self.shown:
            return None
        text, keyboard = self.shown[max(self.shown)]
        return None if keyboard else text


class BotApi:
    """The Bot API methods the bot calls, answered with small valid objects."""

    def __init__(self) -> None:
        self.chats: dict[int, ChatRecord] = {}
        self.calls: Counter[str] = Counter()

    def answer(self, method: str, body: bytes, at: float) -> bytes:
        name = method.lower()
        params = dict(parse_qsl(body.decode()))
        self.calls[name] += 1
        chat = self.chats.setdefault(int(params["chat_id"]), ChatRecord()) if "chat_id" in params else None
        if chat is not None and chat.first_call is None and name in _FIRST_CALLS:
            chat.first_call = at
        result = self._result(name, params, chat)
        return response(200, json.dumps({"ok": True, "result": result}).encode())

    def _result(self, name: str, params: dict[str, str], chat: ChatRecord | None) -> Any:
        if chat is not None and name in ("sendmessage", "editmessagetext"):
            return self._shown(chat, params, int(params.get("message_id") or max(chat.shown, default=0) + 1))
        if chat is not None and name == "deletemessage":
            chat.shown.pop(int(params["message_id"]), None)
        return _CANNED.get(name, True)

    @staticmethod
    def _shown(chat: ChatRecord, params: dict[str, str], message_id: int) -> dict[str, Any]:
        chat.shown[message_id] = (params.get("text", ""), "reply_markup" in params)
        chat_id = int(params["chat_id"])
        where = {"id": chat_id, "type": "private", "first_name": "Ann"} if chat_id > 0 else \
            {"id": chat_id, "type": "group", "title": "Group"}
        return {"message_id": message_id, "date": int(time.time()), "chat": where, "from": BOT_USER,
                "text": params.get("text", "")}


_CANNED: dict[str, Any] = {
    "getme": BOT_USER, "getmycommands": [], "getchatadministrators": [],
    "getwebhookinfo": {"url": "", "has_custom_certificate": False, "pending_update_count": 0},
}


@dataclass(frozen=True)
class Frames:
    """A whole SSE answer, already framed as chunks: sent at once, one piece per delay, then the end."""

    opening: bytes
    pieces: tuple[bytes, ...]
    closing: bytes


class ChatCompletions:
    """POST /v1/chat/completions: SSE chat.completion.chunk events ending with [DONE], or one completion."""

    def __init__(self, chunk_size: int, delay: float) -> None:
        self._size = chunk_size
        self._delay = delay
        self.streams = 0

    async def answer(self, body: bytes, writer: asyncio.StreamWriter) -> None:
        asked = json.loads(body)
        text = STREAM_TEXT if _last_text(asked).startswith("go") else SHORT_TEXT
        if not asked.get("stream"):
            writer.write(response(200, _completion(text, asked.get("model", "fake"))))
            return
        self.streams += 1
        frames = _frames(text, self._size, asked.get("model", "fake"), _wants_usage(asked))
        writer.write(SSE_HEAD + frames.opening)
        for piece in frames.pieces:
            await asyncio.sleep(self._delay)
            writer.write(piece)
            await writer.drain()
        writer.write(frames.closing)


def _last_text(asked: dict[str, Any]) -> str:
    messages = asked.get("messages") or [{}]
    content = messages[-1].get("content", "")
    return content if isinstance(content, str) else json.dumps(content)


def _wants_usage(asked: dict[str, Any]) -> bool:
    options = asked.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


@functools.lru_cache(maxsize=16)
def _frames(text: str, size: int, model: str, usage: bool) -> Frames:
    pieces = [text[i:i + size] for i in range(0, len(text), size)]
    event = functools.partial(_event, model=model, usage=usage)
    counts = {"prompt_tokens": 20, "completion_tokens": len(pieces), "total_tokens": 20 + len(pieces)}
    closing = event({}, "stop") + (_sse({**_chunk_base(model), "choices": [], "usage": counts}) if usage else b"")
    return Frames(chunk(event({"role": "assistant", "content": ""}, None)),
                  tuple(chunk(event({"content": piece}, None)) for piece in pieces),
                  chunk(closing + b"data: [DONE]\n\n") + LAST_CHUNK)


def _event(delta: dict[str, str], finish: str | None, *, model: str, usage: bool) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
    return _sse({**_chunk_base(model), "choices": [choice]} | ({"usage": None} if usage else {}))


def _chunk_base(model: str) -> dict[str, Any]:
    return {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "system_fingerprint": "fp_bench"}


def _sse(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def _completion(text: str, model: str) -> bytes:
    message = {"role": "assistant", "content": text, "refusal": None}
    return json.dumps({"id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
                       "model": model, "choices": [{"index": 0, "message": message, "finish_reason": "stop",
                                                    "logprobs": None}],
                       "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}}).encode()


class LagWatch:
    """This process's own event-loop lag: a late timestamp here would make the bot look slower."""

    def __init__(self, every: float = 0.02) -> None:
        self._every = every
        self._samples: list[float] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self._every)
            self._samples.append(max(0.0, loop.time() - started - self._every))

    def take(self) -> dict[str, float]:
        """p99 and max in ms since the last take, and how many samples."""
        samples, self._samples = sorted(self._samples), []
        if not samples:
            return {"p99_ms": 0.0, "max_ms": 0.0, "n": 0}
        p99 = samples[min(len(samples) - 1, int(0.99 * len(samples)))]
        return {"p99_ms": p99 * 1000, "max_ms": samples[-1] * 1000, "n": len(samples)}


class Fakes:
    """Both fake APIs on one port, plus the benchmark's read-outs under /__."""

    def __init__(self, chunk_size: int, delay: float) -> None:
        self.telegram = BotApi()
        self.openai = ChatCompletions(chunk_size, delay)
        self.lag = LagWatch()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, ValueError):
            while True:
                asked = await read_message(reader)
                await self._dispatch(asked, time.monotonic(), writer)
                await writer.drain()
                if not asked.keep_alive:
                    break
        writer.close()

    async def _dispatch(self, asked: Message, at: float, writer: asyncio.StreamWriter) -> None:
        path, query = asked.target
        if path.startswith("/bot"):
            writer.write(self.telegram.answer(path.rsplit("/", 1)[-1], asked.body, at))
        elif path == "/v1/chat/completions":
            await self.openai.answer(asked.body, writer)
        elif path.startswith("/__"):
            writer.write(response(200, json.dumps(self._report(path, query)).encode()))
        else:
            writer.write(response(404, b'{"error": {"message": "not found"}}'))

    def _report(self, path: str, query: str) -> dict[str, Any]:
        if path == "/__lag":
            return self.lag.take()
        args = {k: int(v[0]) for k, v in parse_qs(query).items()}
        chats = {c: r for c, r in self.telegram.chats.items() if args.get("lo", 0) <= c < args.get("hi", 2**62)}
        if path == "/__progress":
            return {"first": sum(1 for r in chats.values() if r.first_call is not None),
                    "final": sum(1 for r in chats.values() if r.final_text is not None),
                    "calls": sum(self.telegram.calls.values()) + self.openai.streams}
        return {"first": {c: r.first_call for c, r in chats.items() if r.first_call is not None},
                "final": {c: r.final_text for c, r in chats.items()},
                "calls": dict(self.telegram.calls), "streams": self.openai.streams}


async def serve(chunk_size: int, delay: float) -> None:
    """Listen on a free port of 127.0.0.1 until stdin closes (so the fakes never outlive the benchmark)."""
    fakes = Fakes(chunk_size, delay)
    server = await asyncio.start_server(fakes.serve, "127.0.0.1", 0, backlog=4096)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    watcher = asyncio.create_task(fakes.lag.run())
    closed = asyncio.Event()
    asyncio.get_running_loop().add_reader(0, closed.set)
    async with server:
        await closed.wait()
    watcher.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunk", type=int, default=12, help="characters per streamed piece")
    parser.add_argument("--delay", type=float, default=0.08, help="seconds between streamed pieces")
    args = parser.parse_args()
    asyncio.run(serve(args.chunk, args.delay))


if __name__ == "__main__":
    main()
