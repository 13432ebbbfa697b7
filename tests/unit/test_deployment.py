"""docker-compose.yml and the Dockerfile, read as data: Docker does not run where the tests run,
so what can go wrong by reading is checked by reading. Every gateway process runs a command the
CLI has, with options it takes; dependencies, health checks and scaling are coherent; every
GATEWAY_* variable set is one the gateway reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from gateway.cli import cli

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
IMAGE = "supplier-gateway:"
GATEWAY_SERVICES = {name: service for name, service in SERVICES.items()
                    if str(service.get("image", "")).startswith(IMAGE)}
# Each process of the deployment (docs/architecture.md, "Who runs the processing") and the command
# that runs it.
EXPECTED_COMMANDS = {"migrate": "init", "web": "web", "worker": "worker", "beat": "beat",
                     "smtp": "smtp", "imap": "imap", "as2": "as2"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def healthcheck(service: dict[str, Any]) -> dict[str, Any] | None:
    check = service.get("healthcheck")
    return None if not check or check.get("disable") else check


def test_the_deployment_has_its_processes() -> None:
    assert set(SERVICES) == {"postgres", "redis", *EXPECTED_COMMANDS}
    assert set(GATEWAY_SERVICES) == set(EXPECTED_COMMANDS)


@pytest.mark.parametrize("name", sorted(EXPECTED_COMMANDS))
def test_each_process_runs_a_command_the_cli_has(name: str) -> None:
    command = GATEWAY_SERVICES[name]["command"]
    assert isinstance(command, list), "exec form: the entrypoint is `gateway`"
    assert command[0] == EXPECTED_COMMANDS[name]
    known = cli.get_command(click.Context(cli), command[0])  # loads it: commands load on use
    assert known is not None, f"`gateway {command[0]}` does not exist"
    options = {option for param in known.params
               if isinstance(param, click.Option) for option in param.opts}
    used = {word for word in command[1:] if word.startswith("-")}
    assert used <= options, f"`gateway {command[0]}` takes no {used - options}"


def test_dependencies_name_services_with_valid_conditions() -> None:
    for name, service in SERVICES.items():
        for target, rule in service.get("depends_on", {}).items():
            assert target in SERVICES, f"{name} depends on unknown {target}"
            assert rule["condition"] in CONDITIONS, f"{name} -> {target}"
            if rule["condition"] == "service_healthy":
                assert healthcheck(SERVICES[target]), f"{target} has no health check"
            if rule["condition"] == "service_completed_successfully":
                assert SERVICES[target].get("restart") == "no", f"{target} must run once"


def test_the_order_of_start() -> None:
    assert SERVICES["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in set(EXPECTED_COMMANDS) - {"migrate"}:
        assert GATEWAY_SERVICES[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"}, name


def probe(service: dict[str, Any]) -> str:
    check = healthcheck(service)
    assert check is not None
    return " ".join(check["test"])


def test_health_checks_where_a_probe_means_something() -> None:
    assert "pg_isready" in probe(SERVICES["postgres"])
    assert "ping" in probe(SERVICES["redis"])
    web = GATEWAY_SERVICES["web"]
    port = web["command"][web["command"].index("--port") + 1]
    assert f"127.0.0.1:{port}/healthz" in probe(web)
    assert "2525" in probe(GATEWAY_SERVICES["smtp"])
    # The image's check asks the web port: a process without one must not inherit it.
    for name in ("migrate", "worker", "beat", "imap"):
        assert GATEWAY_SERVICES[name]["healthcheck"] == {"disable": True}, name


def test_workers_scale() -> None:
    worker = GATEWAY_SERVICES["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert not any("container_name" in service for service in GATEWAY_SERVICES.values())


def test_the_database_is_kept_in_a_volume() -> None:
    (mount,) = SERVICES["postgres"]["volumes"]
    volume, _, target = mount.partition(":")
    assert volume in COMPOSE["volumes"]
    assert target == "/var/lib/postgresql/data"


def variables_the_gateway_reads() -> set[str]:
    sources = [ROOT / "gateway" / "config.py", ROOT / "gateway" / "channels" / "mailboxes.py",
               *sorted((ROOT / "gateway" / "cli").glob("*.py"))]
    text = "\n".join(path.read_text() for path in sources)
    names = set(re.findall(r"GATEWAY_[A-Z0-9_]*[A-Z0-9]", text))
    # SmtpSettings reads GATEWAY_SMTP_<NAME> through get("NAME").
    names |= {f"GATEWAY_SMTP_{name}" for name in re.findall(r'get\("([A-Z_]+)"\)', text)}
    return names


def test_every_gateway_variable_is_one_the_gateway_reads() -> None:
    read = variables_the_gateway_reads()
    for name, service in GATEWAY_SERVICES.items():
        environment = service["environment"]
        assert {"GATEWAY_DATABASE_URL", "GATEWAY_BROKER_URL"} <= set(environment), name
        unknown = {key for key in environment if key.startswith("GATEWAY_")} - read
        assert not unknown, f"{name} sets {unknown}, which the gateway never reads"
    assert GATEWAY_SERVICES["web"]["environment"]["GATEWAY_DATABASE_URL"].startswith(
        "postgresql://")


def test_the_imap_process_reads_the_mounted_mailbox_file() -> None:
    imap = GATEWAY_SERVICES["imap"]
    target = imap["environment"]["GATEWAY_IMAP_MAILBOXES"]
    assert any(mount.split(":")[-2] == target for mount in imap["volumes"])


def test_the_dockerfile_builds_the_compiled_wheel_and_runs_gateway() -> None:
    assert re.findall(r"^FROM (\S+)", DOCKERFILE, re.MULTILINE) == ["python:3.11-slim"] * 2
    assert re.search(r'^ENTRYPOINT \["gateway"\]$', DOCKERFILE, re.MULTILINE)
    assert "GATEWAY_MYPYC=1 pip wheel --no-build-isolation" in DOCKERFILE
    # The runtime dependencies and the compile extra are installed before the build.
    assert DOCKERFILE.index('["optional-dependencies"]["compile"]') < DOCKERFILE.index(
        "GATEWAY_MYPYC=1")
    (user,) = re.findall(r"^USER (\S+)$", DOCKERFILE, re.MULTILINE)
    assert user not in ("root", "0")
    assert "/healthz" in DOCKERFILE.split("HEALTHCHECK", 1)[1]
    for folder in ("gateway", "parsers", "mappings", "outbound"):
        assert f"COPY {folder} ./{folder}" in DOCKERFILE
