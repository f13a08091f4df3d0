"""deploy/prometheus/alerts.yaml and the Grafana dashboard: the shape Prometheus and Grafana load, PromQL that
parses (promql-parser, the Prometheus grammar; no promtool needed), and only metrics /metrics really exposes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from bot.metrics import Metrics

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
# Series Prometheus itself writes for every target it scrapes.
SCRAPE_SERIES = {"up"}
DURATION = re.compile(r"^\d+[smhd]$")


def exposed() -> set[str]:
    """Every series name the bot's /metrics renders (the registry the endpoint serves)."""
    text = Metrics(models=("gpt-4o-mini",)).render().decode()
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def metric_names(node: Any) -> Iterator[str]:
    """The metric names a parsed PromQL expression selects."""
    if isinstance(node, promql_parser.VectorSelector):
        if node.name:
            yield node.name
        return
    for attribute in ("lhs", "rhs", "expr", "param", "vector_selector"):
        child = getattr(node, attribute, None)
        if child is not None:
            yield from metric_names(child)
    if isinstance(node, promql_parser.Call):
        for argument in node.args:
            yield from metric_names(argument)


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "telegram-llm-bot.json").read_text())
    # Grafana fills $__rate_interval in before Prometheus sees the query.
    return [t["expr"].replace("$__rate_interval", "5m") for p in dashboard["panels"] for t in p["targets"]]


def test_the_rule_file_has_the_shape_prometheus_loads() -> None:
    document = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    assert set(document) == {"groups"}
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules"} and group["rules"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"]) and DURATION.match(rule["for"])
            assert rule["labels"]["severity"] in ("critical", "warning", "info") and rule["annotations"]["summary"]
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))


def test_the_alerts_cover_what_operators_are_paged_for() -> None:
    watched = {name for rule in rules() for name in metric_names(promql_parser.parse(rule["expr"]))}
    assert {"up", "bot_turns_total", "bot_telegram_flood_waits_total", "bot_ingress_lag_seconds_bucket",
            "bot_ingress_pending", "bot_event_loop_lag_seconds_bucket", "bot_first_text_seconds_bucket"} <= watched


@pytest.mark.parametrize("expr", [rule["expr"] for rule in rules()] + dashboard_queries())
def test_every_expression_parses_and_names_only_metrics_the_bot_exposes(expr: str) -> None:
    names = set(metric_names(promql_parser.parse(expr)))
    assert names and names <= exposed() | SCRAPE_SERIES, f"unknown: {names - exposed() - SCRAPE_SERIES}"


def test_the_parser_catches_a_broken_expression_and_an_unknown_metric() -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the parser raises a plain ValueError
        promql_parser.parse("sum(rate(bot_turns_total[5m])")
    assert "bot_no_such_thing" not in exposed()


def test_the_dashboard_shows_every_series_the_issue_names() -> None:
    shown = {name for expr in dashboard_queries() for name in metric_names(promql_parser.parse(expr))}
    assert {"bot_turns_total", "bot_first_text_seconds_bucket", "bot_turn_seconds_bucket", "bot_model_errors_total",
            "bot_telegram_flood_waits_total", "bot_tokens_total", "bot_cost_usd_total", "bot_streams_in_flight",
            "bot_ingress_lag_seconds_bucket", "bot_ingress_pending", "bot_event_loop_lag_seconds_bucket",
            "up"} <= shown
