"""Deploy files: they parse, keep the probe and drain contracts, and pass the bot only variables it reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.config import Settings, declared, load_settings
from bot.store.address import SentinelAddress

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
BOT_IMAGE = "telegram-llm-bot"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
PLACEHOLDERS = {"TELEGRAM_BOT_TOKEN": "123456:placeholder", "OPENAI_API_KEY": "sk-placeholder"}


def known_variables() -> frozenset[str]:
    """The variables bot/config.py declares: the only environment the bot knows."""
    return frozenset(variable.name for variable in declared())


def yaml_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


def documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def compose() -> Any:
    return documents(DEPLOY / "docker-compose.yml")[0]


def sentinel_override() -> Any:
    return documents(DEPLOY / "docker-compose.sentinel.yml")[0]


def k8s_objects() -> Iterator[Any]:
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            yield from documents(path)


def k8s_object(kind: str, name: str | None = None) -> Any:
    found = [o for o in k8s_objects() if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_spec(workload: Any) -> Any:
    template = workload["spec"]["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else workload["spec"]
    return template["template"]["spec"]


def bot_containers() -> Iterator[tuple[str, Any]]:
    for workload in k8s_objects():
        if workload["kind"] in WORKLOADS:
            for container in pod_spec(workload).get("containers", []):
                if BOT_IMAGE in container["image"]:
                    yield f"{workload['kind']}/{workload['metadata']['name']}", container


def environment(service: Any) -> dict[str, str]:
    """A Compose service's `environment`, in either of its two spellings."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {str(k): str(v) for k, v in env.items()}
    return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)


def configmap_data() -> dict[str, str]:
    data: dict[str, str] = k8s_object("ConfigMap")["data"]
    return data


def secret_data() -> dict[str, str]:
    secret = k8s_object("Secret")
    return {**secret.get("data", {}), **secret.get("stringData", {})}


def seconds(duration: str) -> float:
    """A Compose duration such as 1m30s or 120s."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)


def settings_from(env: dict[str, str]) -> Settings:
    return load_settings({**PLACEHOLDERS, **env})


def passed_to_bot() -> Iterator[tuple[str, str]]:
    """(where, name) for every variable a deploy file hands the bot's process."""
    for file, services in (("docker-compose.yml", compose()["services"]),
                           ("docker-compose.sentinel.yml", sentinel_override()["services"])):
        for name in environment(services["bot"]):
            yield f"{file} bot.environment", name
    for obj in k8s_objects():
        if obj["kind"] in ("ConfigMap", "Secret"):
            for field in ("data", "stringData", "binaryData"):
                for name in obj.get(field) or {}:
                    yield f"{obj['kind']}/{obj['metadata']['name']}", name
    for where, container in bot_containers():
        for entry in container.get("env", []):
            yield f"{where} env", entry["name"]


# --- every file ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path: Path) -> None:
    assert documents(path), f"{path} is empty"


def test_the_declaration_names_the_variables_the_bot_reads() -> None:
    assert {"TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY", "WEBHOOK_SECRET", "REDIS_URL",
            "SHUTDOWN_GRACE_SECONDS", "LOG_FORMAT"} <= known_variables()


def test_deploy_files_pass_the_bot_only_variables_it_reads() -> None:
    known = known_variables()
    unknown = sorted({f"{where}: {name}" for where, name in passed_to_bot() if name not in known})
    assert not unknown, "variables bot/config.py does not declare:\n" + "\n".join(unknown)


def test_env_example_mentions_every_variable_the_bot_reads() -> None:
    text = (ROOT / ".env.example").read_text()
    missing = sorted(n for n in known_variables() if not re.search(rf"^#?\s*{n}=", text, re.MULTILINE))
    assert not missing, f".env.example does not mention: {', '.join(missing)}"


# --- Docker Compose ------------------------------------------------------------------------------


def test_compose_runs_two_bot_replicas_from_the_repository_dockerfile() -> None:
    bot = compose()["services"]["bot"]
    assert bot["deploy"]["replicas"] == 2
    assert bot["build"]["context"] == ".."
    assert bot["env_file"] in ("../.env", ["../.env"])
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_bot_settings_load_and_log_json() -> None:
    settings = settings_from(environment(compose()["services"]["bot"]))
    assert settings.redis_url == "redis://redis:6379/0"
    assert (settings.log_format, settings.host, settings.port) == ("json", "0.0.0.0", 8080)


def test_compose_bot_healthcheck_asks_healthz() -> None:
    check = compose()["services"]["bot"]["healthcheck"]["test"]
    assert "/healthz" in " ".join(check) and "curl" not in " ".join(check)


def test_compose_stop_grace_outlasts_the_drain() -> None:
    bot = compose()["services"]["bot"]
    grace = settings_from(environment(bot)).shutdown_grace_seconds
    assert seconds(bot["stop_grace_period"]) > grace


def test_compose_searxng_is_optional_serves_json_and_stays_off_the_host() -> None:
    services = compose()["services"]
    searxng = services["searxng"]
    assert searxng["profiles"] == ["search"]  # plain `up` starts the bot without it
    assert "searxng" not in (services["bot"].get("depends_on") or {})
    assert "ports" not in searxng
    (mount,) = searxng["volumes"]
    source, target = mount.split(":")[:2]
    assert target == "/etc/searxng/settings.yml"
    settings = documents(DEPLOY / source)[0]
    assert "json" in settings["search"]["formats"] and settings["use_default_settings"] is True
    assert "SEARXNG_URL=http://searxng:8080" in (DEPLOY / "README.md").read_text()
    assert settings_from({"SEARXNG_URL": "http://searxng:8080"}).tools[-3:] == ("web_search", "fetch_url",
                                                                                "generate_image")


def test_compose_redis_persists_with_aof_and_never_evicts() -> None:
    redis = compose()["services"]["redis"]
    command = " ".join(redis["command"]) if isinstance(redis["command"], list) else redis["command"]
    assert redis["image"].startswith("redis:7")
    assert "--appendonly yes" in command and "--appendfsync everysec" in command
    assert "--maxmemory-policy noeviction" in command
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])
    volume = redis["volumes"][0].split(":")[0]
    assert volume in compose()["volumes"], "Redis data must be on a named volume"


def test_the_sentinel_variant_points_the_bot_at_its_three_sentinels_and_their_service() -> None:
    services = sentinel_override()["services"]
    url = settings_from({**environment(compose()["services"]["bot"]), **environment(services["bot"])}).redis_url
    assert url is not None
    address = SentinelAddress.parse(url)
    sentinels = sorted(name for name in services if name.startswith("sentinel-"))
    assert sorted(address.sentinels) == [(name, 26379) for name in sentinels] and len(sentinels) == 3
    for name in sentinels:
        conf = " ".join(services[name]["command"])
        assert re.search(rf"sentinel monitor {address.service} redis 6379 2\b", conf), name  # a majority of 3
        assert re.search(rf"sentinel down-after-milliseconds {address.service} \d+", conf), name
        assert services[name]["volumes"][0].endswith(":/data") and "/data/sentinel.conf" in conf, name
    assert set(sentinels) <= set(services["bot"]["depends_on"])


def test_the_sentinel_variants_replica_follows_the_primary_and_both_persist_and_never_evict() -> None:
    services = sentinel_override()["services"]
    for name in ("redis", "redis-replica"):
        command = " ".join(services[name]["command"])
        assert "--appendonly yes" in command and "--maxmemory-policy noeviction" in command, name
        assert f"--replica-announce-ip {name}" in command, name  # Sentinel names it by host name, as the bot dials
    assert "--replicaof redis 6379" in " ".join(services["redis-replica"]["command"])
    assert services["redis-replica"]["volumes"][0].split(":")[0] in sentinel_override()["volumes"]


def test_caddy_terminates_tls_and_balances_over_healthy_replicas() -> None:
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert compose()["services"]["caddy"]["image"] == "caddy:2"
    assert "{$BOT_DOMAIN}" in caddyfile
    for line in ("lb_policy round_robin", "health_uri /healthz"):
        assert re.search(rf"^\s*{re.escape(line)}\b", caddyfile, re.MULTILINE), line


def test_caddy_health_checks_each_replica_on_its_own() -> None:
    """One upstream per replica, by its Compose container name: a draining replica must not mark the others down."""
    caddyfile, project = (DEPLOY / "Caddyfile").read_text(), compose()["name"]
    proxy = re.search(r"^\s*reverse_proxy ([^{]+)\{", caddyfile, re.MULTILINE)
    assert proxy is not None
    replicas = compose()["services"]["bot"]["deploy"]["replicas"]
    assert proxy[1].split() == [f"{project}-bot-{n}:8080" for n in range(1, replicas + 1)]


# --- Kubernetes ----------------------------------------------------------------------------------


def test_deployment_runs_three_replicas() -> None:
    assert k8s_object("Deployment")["spec"]["replicas"] == 3


def test_both_probes_ask_healthz_and_liveness_is_more_patient() -> None:
    container = pod_spec(k8s_object("Deployment"))["containers"][0]
    ready, live = container["readinessProbe"], container["livenessProbe"]
    assert ready["httpGet"]["path"] == live["httpGet"]["path"] == "/healthz"
    patience = [p.get("periodSeconds", 10) * p.get("failureThreshold", 3) for p in (ready, live)]
    assert patience[1] > patience[0]


def test_termination_grace_outlasts_prestop_and_drain() -> None:
    spec = pod_spec(k8s_object("Deployment"))
    command = spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    drain = settings_from({**configmap_data(), **secret_data()}).shutdown_grace_seconds
    assert spec["terminationGracePeriodSeconds"] > float(command[1]) + drain
    assert drain == float(configmap_data()["SHUTDOWN_GRACE_SECONDS"])


def test_bot_pods_run_as_non_root_on_a_read_only_root() -> None:
    for where, container in bot_containers():
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, where
        assert security["allowPrivilegeEscalation"] is False, where
        assert security["capabilities"]["drop"] == ["ALL"], where
    pod = pod_spec(k8s_object("Deployment"))["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 10001


def test_bot_pods_read_the_configmap_and_the_secret() -> None:
    names = {"configMapRef": k8s_object("ConfigMap")["metadata"]["name"],
             "secretRef": k8s_object("Secret")["metadata"]["name"]}
    for where, container in bot_containers():
        refs = {kind: source[kind]["name"] for source in container["envFrom"] for kind in source}
        assert refs == names, where


def test_configmap_and_secret_load_as_settings() -> None:
    settings = settings_from({**configmap_data(), **secret_data()})
    assert settings.log_format == "json" and settings.redis_url


def test_webhook_url_is_served_by_the_ingress() -> None:
    url = urlsplit(configmap_data()["WEBHOOK_URL"])
    ingress = k8s_object("Ingress")["spec"]
    routes = {(rule["host"], path["path"]) for rule in ingress["rules"] for path in rule["http"]["paths"]}
    assert url.scheme == "https" and (url.hostname, url.path) in routes
    assert url.hostname in {host for tls in ingress["tls"] for host in tls["hosts"]}
    assert ingress["ingressClassName"] == "nginx"


def test_redis_statefulset_persists_with_aof_and_never_evicts() -> None:
    redis = k8s_object("StatefulSet", "redis")
    args = " ".join(pod_spec(redis)["containers"][0]["args"])
    assert "--appendonly yes" in args and "--maxmemory-policy noeviction" in args
    assert redis["spec"]["volumeClaimTemplates"]


def test_kustomization_lists_the_manifests_but_not_the_secret_example() -> None:
    resources = documents(K8S / "kustomization.yaml")[0]["resources"]
    assert all((K8S / name).is_file() for name in resources)
    assert "secret.example.yaml" not in resources
    expected = {"deployment.yaml", "service.yaml", "ingress.yaml", "configmap.yaml", "pdb.yaml", "hpa.yaml",
                "redis-statefulset.yaml"}
    assert expected <= set(resources)


def test_set_webhook_job_runs_the_subcommand_on_the_deployed_image_set_in_one_place() -> None:
    job = pod_spec(k8s_object("Job", "set-webhook"))["containers"][0]
    kustomization = documents(K8S / "kustomization.yaml")[0]
    image = next(i for i in kustomization["images"] if BOT_IMAGE in i["name"])
    deployment = pod_spec(k8s_object("Deployment"))["containers"][0]
    for container in (deployment, job):  # both rewritten by kustomize's images: the one place the image is set
        assert container["image"].rsplit(":", 1)[0] == image["name"]
    assert "job-set-webhook.yaml" in kustomization["resources"]
    assert job["command"][-1] == "set-webhook"


def test_prometheus_finds_the_pods_by_servicemonitor_or_annotations() -> None:
    monitor = k8s_object("ServiceMonitor")
    service = k8s_object("Service", "telegram-llm-bot")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]} and endpoint["path"] == "/metrics"
    pod = k8s_object("Deployment")["spec"]["template"]["metadata"]["annotations"]
    for scrape in (pod, service["metadata"]["annotations"]):
        assert scrape["prometheus.io/scrape"] == "true" and scrape["prometheus.io/path"] == "/metrics"
        assert scrape["prometheus.io/port"] == str(settings_from(configmap_data()).port)


def test_the_image_runs_the_python_ci_tests_with_and_installs_the_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    python = (ROOT / ".python-version").read_text().strip()
    assert re.search(rf"^FROM python:{re.escape(python)}-slim\b", dockerfile, re.MULTILINE)
    assert ".python-version" in (ROOT / ".ci" / "run").read_text()
    assert "pip install --no-deps -r requirements.lock" in dockerfile
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", dockerfile, re.MULTILINE)  # served in both modes

