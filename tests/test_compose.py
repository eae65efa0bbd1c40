"""docker-compose.yml works with the official neo4j image as it is.

There is no docker here, so the test does what compose and the image would do, by their rules: the
compose file is parsed (YAML), its ``${…}`` filled in from a ``.env`` made from ``.env.example``, the
environment the container would get computed, and the image's entrypoint rule applied to it (every
``NEO4J_*`` variable but the image's own control variables becomes a ``neo4j.conf`` setting:
``NEO4J_a_b__c`` -> ``a.b_c``; ``NEO4J_AUTH`` sets the initial password). Then the real Neo4j 5.26 of
``scripts/neo4j-local`` is started with those settings under strict validation, as the image starts
it, and kg connects the way the README says (``set -a; . ./.env; set +a``).
"""

from __future__ import annotations

import os
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kg.cli import main
from kg.readers.neo4j import Neo4jConfig, connect

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
LOCAL = ROOT / "scripts" / "neo4j-local"
SAMPLE = ROOT / "tests" / "data" / "sample.ttl"
INSTANCE = "compose-test"
PASSWORD = "compose-test-pw"  # what the user puts into .env

#: the ENV of the image (its Dockerfile): the container has these too
IMAGE_ENV = {"NEO4J_SHA256": "0" * 64, "NEO4J_TARBALL": "neo4j-community-5.26.0-unix.tar.gz",
             "NEO4J_EDITION": "community", "NEO4J_HOME": "/var/lib/neo4j", "JAVA_HOME": "/opt/java/openjdk",
             "LANG": "C.UTF-8"}
#: the image entrypoint's ``not_configs``: NEO4J_* variables that are not settings
NOT_CONFIGS = {"NEO4J_ACCEPT_LICENSE_AGREEMENT", "NEO4J_AUTH", "NEO4J_AUTH_PATH", "NEO4J_DEBUG", "NEO4J_EDITION",
               "NEO4J_HOME", "NEO4J_PLUGINS", "NEO4J_SHA256", "NEO4J_TARBALL", "NEO4J_DEPRECATION_WARNING"}
#: mounted folders the entrypoint points a setting at (``: ${NEO4J_server_directories_logs:="/logs"}``)
MOUNT_SETTINGS = {"/logs": "NEO4J_server_directories_logs", "/import": "NEO4J_server_directories_import",
                  "/plugins": "NEO4J_server_directories_plugins", "/licenses": "NEO4J_server_directories_licenses"}
#: the entrypoint's docker defaults, written unless a setting gives them
DOCKER_DEFAULTS = {"server.memory.pagecache.size": "512M", "server.default_listen_address": "0.0.0.0"}
#: where the container and this machine differ: the value is replaced here, the name is still checked
HOST_VALUES = {"server.default_listen_address": "127.0.0.1", "server.directories.logs": "logs"}


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as compose reads a .env file (comments and blank lines skipped)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()), line
        values[key.strip()] = value.strip()
    return values


_REF = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?[-?])([^}]*))?\}|(\w+))")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``."""

    def one(m: re.Match[str]) -> str:
        if m.group(1):
            return "$"
        name = m.group(2) or m.group(5)
        op, arg = m.group(3), m.group(4)
        value = env.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":?", "?") and unset:
            raise ValueError(f"required variable {name} is missing a value: {arg}")
        if op in (":-", "-") and unset:
            return arg
        return value or ""

    return _REF.sub(one, text)


def container_env(compose: dict, dotenv: dict[str, str]) -> dict[str, str]:
    """The environment of the neo4j service's container: the image's ENV, then the service's (an
    ``env_file`` would add every variable of that file)."""
    service = compose["services"]["neo4j"]
    env = dict(IMAGE_ENV)
    env_files = service.get("env_file", [])
    for name in [env_files] if isinstance(env_files, str) else env_files:
        env |= read_dotenv(ROOT / name)
    for key, value in service.get("environment", {}).items():
        assert isinstance(value, str), f"{key}: compose needs strings ({value!r})"
        env[key] = interpolate(value, dotenv)
    return env


def image_settings(env: dict[str, str], mounts: list[str]) -> dict[str, str]:
    """The neo4j.conf settings the image's entrypoint writes for ``env`` (its docker defaults, then one
    setting per NEO4J_* variable with a value; a mounted folder sets its directory)."""
    env = dict(env)
    for mount, var in MOUNT_SETTINGS.items():
        if mount in mounts:
            env.setdefault(var, mount)
    settings = dict(DOCKER_DEFAULTS)
    for var in sorted((k for k in env if k.startswith("NEO4J_")), reverse=True):
        if var in NOT_CONFIGS:
            continue
        name = var[len("NEO4J_"):].replace("_", ".").replace("..", "_")
        if env[var] and not name[0].isdigit():
            settings[name] = env[var]
    return settings


def initial_password(auth: str) -> str:
    """The password the entrypoint sets from NEO4J_AUTH (its regular expression and checks)."""
    m = re.fullmatch(r"([^/]+)/([^/]+)/?([tT][rR][uU][eE])?", auth)
    assert m, f"NEO4J_AUTH {auth!r} is not USER/PASSWORD"
    assert m.group(1) == "neo4j", "the image's admin user must be neo4j"
    assert m.group(2) != "neo4j" and len(m.group(2)) >= 8
    return m.group(2)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dotenv() -> dict[str, str]:
    """The .env a user makes: .env.example with a password set."""
    values = read_dotenv(ENV_EXAMPLE)
    assert set(values) == {"NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"}
    return values | {"NEO4J_PASSWORD": PASSWORD}


def test_only_neo4j_auth_and_real_settings_reach_the_container(compose: dict, dotenv: dict[str, str]) -> None:
    service = compose["services"]["neo4j"]
    assert service["image"] == "neo4j:5.26-community"
    assert "env_file" not in service  # .env holds kg's settings, which are not Neo4j's
    env = container_env(compose, dotenv)
    assert env["NEO4J_AUTH"] == f"neo4j/{PASSWORD}"
    assert not {"NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"} & set(env)
    settings = image_settings(env, [v.split(":")[1] for v in service["volumes"]])
    assert PASSWORD not in "".join(settings.values())  # the password never lands in neo4j.conf
    assert settings == {
        "server.memory.pagecache.size": "512M",
        "server.default_listen_address": "0.0.0.0",  # in the container; the ports are published on 127.0.0.1
        "server.memory.heap.max_size": "1G",
        "server.directories.logs": "/logs",
        "dbms.usage_report.enabled": "false",
        "client.allow_telemetry": "false",
        "dbms.security.http_static_content_security_policy_header": settings[
            "dbms.security.http_static_content_security_policy_header"],
    }
    # the same privacy settings as scripts/neo4j-local writes
    script = LOCAL.read_text(encoding="utf-8")
    csp = re.search(r'^BROWSER_CSP="(.*)"$', script, re.M)
    assert csp and settings["dbms.security.http_static_content_security_policy_header"] == csp.group(1)
    for line in ("dbms.usage_report.enabled=false", "client.allow_telemetry=false"):
        assert re.search(rf"^{re.escape(line)}$", script, re.M), line
    assert all(p.startswith("127.0.0.1:") for p in service["ports"])


def test_a_missing_password_stops_compose_with_a_message(compose: dict, dotenv: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="set NEO4J_PASSWORD in .env"):
        container_env(compose, {k: v for k, v in dotenv.items() if k != "NEO4J_PASSWORD"})


def test_the_rule_turns_kg_settings_into_settings_neo4j_refuses() -> None:
    """The old compose file (env_file: .env) gave URI=…, USER=…, PASSWORD=… and DATABASE=… settings."""
    settings = image_settings({"NEO4J_URI": "bolt://localhost:7687", "NEO4J_DATABASE": "neo4j",
                               "NEO4J_dbms_usage__report_enabled": "false", "NEO4J_AUTH": "neo4j/x"}, [])
    assert settings["URI"] == "bolt://localhost:7687" and settings["DATABASE"] == "neo4j"
    assert settings["dbms.usage_report.enabled"] == "false" and "AUTH" not in settings


def _local(conf: Path, password: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")} | {
        "KG_NEO4J_INSTANCE": INSTANCE, "KG_NEO4J_EXTRA_CONF": str(conf), "KG_NEO4J_PASSWORD": password}
    return subprocess.run([str(LOCAL), *args], capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)


@pytest.fixture()
def server_conf(tmp_path: Path) -> Iterator[Path]:
    """A settings file for a server of its own (instance compose-test), deleted with its data after."""
    conf = tmp_path / "compose.conf"
    conf.write_text("", encoding="utf-8")
    yield conf
    _local(conf, "", "reset", timeout=120)


@pytest.mark.slow
@pytest.mark.neo4j
def test_neo4j_starts_with_the_container_settings_and_kg_connects_as_the_readme_says(
        compose: dict, dotenv: dict[str, str], server_conf: Path, tmp_path: Path) -> None:
    service = compose["services"]["neo4j"]
    env = container_env(compose, dotenv)
    settings = image_settings(env, [v.split(":")[1] for v in service["volumes"]])
    lines = ["server.config.strict_validation.enabled=true"]
    lines += [f"{k}={HOST_VALUES.get(k, v)}" for k, v in settings.items()]
    server_conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    password = initial_password(env["NEO4J_AUTH"])
    started = _local(server_conf, password, "start")
    assert started.returncode == 0, started.stderr[-3000:]
    envfile = Path(_local(server_conf, password, "envfile").stdout.strip())
    local = Neo4jConfig.from_env_file(envfile)
    http = next(line.split("=", 1)[1] for line in envfile.read_text(encoding="utf-8").splitlines()
                if line.startswith("export NEO4J_HTTP_URL="))

    # kg's settings come from .env through the shell (set -a; . ./.env; set +a); here the port is the test's
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "graph.ttl").write_bytes(SAMPLE.read_bytes())
    kg_env = dotenv | {"NEO4J_URI": local.uri}
    res = CliRunner().invoke(main, ["load", str(tmp_path / "out")], env=kg_env)
    assert res.exit_code == 0, res.output
    driver = connect(Neo4jConfig.from_env(uri=local.uri, user=dotenv["NEO4J_USER"], password=PASSWORD,
                                          database=dotenv["NEO4J_DATABASE"]))
    try:
        assert driver.execute_query("MATCH (d:Document) RETURN count(d) AS c").records[0]["c"] == 2
    finally:
        driver.close()
    with urllib.request.urlopen(f"{http}/browser/", timeout=30) as resp:
        assert resp.headers["Content-Security-Policy"] == settings[
            "dbms.security.http_static_content_security_policy_header"]

    # the healthcheck, as the container's shell runs it, with the image's cypher-shell (the same version
    # from Maven Central); NEO4J_ADDRESS stands for the container's localhost:7687
    check = service["healthcheck"]["test"]
    assert check[0] == "CMD-SHELL"
    command = interpolate(check[1], dotenv)
    assert "NEO4J_USER" not in command and "NEO4J_PASSWORD}" not in command  # the container has neither
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cypher-shell").write_text(f'#!/bin/sh\nexec "{LOCAL}" cypher-shell "$@"\n', encoding="utf-8")
    (bin_dir / "cypher-shell").chmod(0o755)

    def healthcheck(container: dict[str, str]) -> int:
        # the image's JAVA_HOME names its own JDK, which this machine does not have: this machine's java runs
        # cypher-shell (and mvn fetches it the first time)
        container = {k: v for k, v in container.items() if k != "JAVA_HOME"}
        env = container | {"PATH": f"{bin_dir}:{os.environ['PATH']}", "NEO4J_ADDRESS": local.uri,
                           "KG_CACHE": os.environ.get("KG_CACHE", str(Path.home() / ".cache" / "kg"))}
        return subprocess.run(["sh", "-c", command], env=env, timeout=300, check=False).returncode

    assert healthcheck(env) == 0
    assert healthcheck(env | {"NEO4J_AUTH": "neo4j/not-the-password"}) != 0
    _local(server_conf, password, "stop", timeout=120)

    # the same start with the setting the old compose file produced is refused: validation is strict
    server_conf.write_text("\n".join([*lines, "DATABASE=neo4j"]) + "\n", encoding="utf-8")
    refused = _local(server_conf, password, "start")
    assert refused.returncode != 0
    assert "Unrecognized setting. No declared setting with name: DATABASE" in refused.stderr
