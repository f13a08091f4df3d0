from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.domain.tokens import MESSAGE_OVERHEAD, TokenCounter


def test_counter_uses_tiktoken_for_known_and_unknown_models() -> None:
    known, local = TokenCounter("gpt-4o-mini"), TokenCounter("llama3.1:8b")
    assert known.count("hello world") == MESSAGE_OVERHEAD + 2
    assert local.count("hello world") == MESSAGE_OVERHEAD + 2


def test_counter_without_any_encoding_approximates_four_characters_a_token() -> None:
    offline = TokenCounter("gpt-4o-mini", loader=lambda model: None)
    assert offline.count("x" * 40) == MESSAGE_OVERHEAD + 10


def test_offline_tiktoken_gives_one_warning_and_an_approximate_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    script = "from bot.domain.tokens import TokenCounter; print(TokenCounter('some-local-model').count('x' * 40))"
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path), "HTTPS_PROXY": "http://127.0.0.1:9"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == str(MESSAGE_OVERHEAD + 10)
    assert done.stderr.count("no tiktoken encoding") == 1
