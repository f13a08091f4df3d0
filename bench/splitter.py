"""Benchmark: how long splitting a growing answer takes (a streaming sink splits at every edit past 4096).

    python -m bench.splitter

A 20,000-character Markdown answer (prose, lists, code, a table) split at every 1,000 characters of its growth.
"""

from __future__ import annotations

import statistics
import time

from bot.telegram.markdown.render import TELEGRAM_TEXT_LIMIT
from bot.telegram.markdown.splitter import split_markdown
from tests.markdown_samples import ANSWER


def main() -> None:
    answer = (ANSWER * 40)[:20_000]
    timings: list[tuple[int, float, int]] = []
    for end in range(1000, len(answer) + 1, 1000):
        started = time.perf_counter()
        segments = split_markdown(answer[:end], TELEGRAM_TEXT_LIMIT)
        timings.append((end, time.perf_counter() - started, len(segments)))
    print(f"{'characters':>10}  {'messages':>8}  {'split ms':>8}")
    for end, seconds, count in [*timings[::4], timings[-1]]:
        print(f"{end:>10,}  {count:>8}  {seconds * 1000:>8.1f}")
    durations = [seconds for _, seconds, _ in timings]
    print(f"median {statistics.median(durations) * 1000:.1f} ms, slowest {max(durations) * 1000:.1f} ms "
          f"over {len(durations)} splits")


if __name__ == "__main__":
    main()
