"""``sluice flower``: loopback by default, basic auth elsewhere, Prometheus metrics over HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from sluice.cli.flower import FlowerAuthError, flower_environment, is_loopback
from sluice.shared.settings import Settings
from tests.monitoring.conftest import unique_text
from tests.monitoring.processes import get, running_flower, running_sluice
from tests.support.cluster import Cluster, run_sluice

CREDENTIALS = ("operator", "s3cret:with-colon")


def _settings(user: str = "", password: str = "") -> Settings:
    return Settings(flower_user=user, flower_password=SecretStr(password))


def _flower_env(cluster: Cluster, user: str = "", password: str = "") -> dict[str, str]:
    env = {k: v for k, v in cluster.env.items() if not k.startswith(("SLUICE_FLOWER", "FLOWER_"))}
    if user:
        env |= {"SLUICE_FLOWER_USER": user, "SLUICE_FLOWER_PASSWORD": password}
    return env


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("", False),
        ("::", False),
        ("10.1.2.3", False),
        ("flower.example.com", False),
    ],
)
def test_is_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_loopback_needs_no_credentials() -> None:
    env = flower_environment("127.0.0.1", _settings(), {"PATH": "/bin", "FLOWER_BASIC_AUTH": "a:b"})
    assert env == {"PATH": "/bin"}  # and a stray FLOWER_BASIC_AUTH does not sneak in


def test_no_stray_flower_variable_reaches_flower() -> None:
    base = {"PATH": "/bin", "FLOWER_UNAUTHENTICATED_API": "true", "FLOWER_AUTH": ".*"}
    env = flower_environment("0.0.0.0", _settings(*CREDENTIALS), base)
    assert env == {"PATH": "/bin", "FLOWER_BASIC_AUTH": "operator:s3cret:with-colon"}


def test_credentials_reach_flower_through_its_variable() -> None:
    env = flower_environment("0.0.0.0", _settings(*CREDENTIALS), {})
    assert env == {"FLOWER_BASIC_AUTH": "operator:s3cret:with-colon"}
    # Set on loopback too, they are asked for there as well.
    assert flower_environment("127.0.0.1", _settings(*CREDENTIALS), {}) == env


@pytest.mark.parametrize(
    ("user", "password", "message"),
    [
        ("", "", "without a password"),
        ("operator", "", "both"),
        ("", "secret", "both"),
        ("op:erator", "secret", "must not contain"),
        ("operator", "se,cret", "must not contain"),
    ],
)
def test_refuses_what_would_leave_flower_open(user: str, password: str, message: str) -> None:
    with pytest.raises(FlowerAuthError, match=message):
        flower_environment("0.0.0.0", _settings(user, password), {})


def test_sluice_flower_refuses_to_start_open_beyond_loopback(pipeline: Cluster) -> None:
    result = run_sluice(_flower_env(pipeline), "flower", "--address", "0.0.0.0", timeout=60)
    assert result.returncode == 2
    assert "SLUICE_FLOWER_USER" in result.stderr and "SLUICE_FLOWER_PASSWORD" in result.stderr
    assert "Visit me" not in result.stdout + result.stderr


def _metric_samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


@pytest.mark.integration
def test_flower_beyond_loopback_asks_for_a_password_but_serves_metrics(
    pipeline: Cluster, tmp_path: Path
) -> None:
    """What the compose service runs: every address, credentials from the settings."""
    env = _flower_env(pipeline, *CREDENTIALS)
    with running_flower(env, tmp_path / "flower.log", address="0.0.0.0") as url:
        assert get(f"{url}/workers")[0] == 401
        assert get(f"{url}/workers", auth=("operator", "wrong"))[0] == 401
        status, page = get(f"{url}/workers", auth=CREDENTIALS)
        assert status == 200 and "Workers" in page

        submitted = pipeline.sluice("submit", "--text", "-", "--wait", stdin=unique_text())
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr

        # Scrapers and probes need no credentials.
        assert get(f"{url}/healthcheck") == (200, "OK")
        # Flower learns a worker is online from its heartbeats (every 2 s), which it sees
        # only once its event receiver has subscribed, a moment after its pages answer.
        deadline = time.monotonic() + 30
        while True:
            status, metrics = get(f"{url}/metrics")
            assert status == 200
            stored = sum(
                value
                for labels, value in _metric_samples(metrics, "flower_events_total")
                if labels["task"] == "workers.store" and labels["type"] == "task-succeeded"
            )
            online = {
                labels["worker"].split("@", 1)[0].rsplit("-", 1)[-1]  # [name-]stage@host
                for labels, value in _metric_samples(metrics, "flower_worker_online")
                if value == 1
            }
            if (stored >= 1 and online >= {"fetch", "extract"}) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert stored >= 1
        assert online >= {"fetch", "extract"}


@pytest.mark.integration
def test_a_stray_flowerconfig_cannot_turn_the_password_off(
    pipeline: Cluster, tmp_path: Path
) -> None:
    (tmp_path / "flowerconfig.py").write_text("basic_auth = []\nauth = '.*'\n")
    env = _flower_env(pipeline, *CREDENTIALS)
    with running_flower(env, tmp_path / "flower.log", address="0.0.0.0", cwd=tmp_path) as url:
        assert get(f"{url}/workers")[0] == 401
        assert get(f"{url}/workers", auth=CREDENTIALS)[0] == 200


@pytest.mark.integration
def test_metrics_beyond_loopback_needs_public(pipeline: Cluster, tmp_path: Path) -> None:
    refused = run_sluice(pipeline.env, "metrics", "--address", "0.0.0.0", timeout=60)
    assert refused.returncode == 2
    assert "--public" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    args = ["metrics", "--address", "0.0.0.0", "--public"]
    with running_sluice(pipeline.env, tmp_path / "metrics.log", args, "/metrics") as url:
        assert get(f"{url}/metrics")[0] == 200
