"""The Docker Compose stack (deploy/compose) hangs together, without a Docker engine to run it.

The YAML parses; everything it mounts or builds from exists in the repo, and so does everything its
Dockerfiles copy (and their .dockerignore lets through); every secret it reads is in .env.example; and
the addresses the parts use to find each other agree: Grafana's data source and Prometheus's listen
address, Prometheus's scrape target and the ACD's HTTP address, Grafana's dashboard provider and
the dashboards' mount.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import promql
import yaml

COMPOSE_DIR = promql.ROOT / "deploy" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
GRAFANA = promql.ROOT / "deploy" / "grafana"


def compose() -> dict[str, Any]:
    content = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(content, dict)
    return content


def services() -> dict[str, dict[str, Any]]:
    return dict(compose()["services"])


def mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of every volume entry, short or long syntax."""
    found = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        found.append((source, target))
    return found


def is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def builds() -> list[tuple[str, Path, Path]]:
    """(service, context dir, Dockerfile) of every service that is built here."""
    found = []
    for name, service in services().items():
        if "build" not in service:
            continue
        build = service["build"] if isinstance(service["build"], dict) else {"context": service["build"]}
        context = (COMPOSE_DIR / build["context"]).resolve()
        found.append((name, context, context / build.get("dockerfile", "Dockerfile")))
    return found


def copy_sources(dockerfile: Path) -> list[str]:
    sources = []
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0].upper() in ("COPY", "ADD"):
            args = [w for w in words[1:] if not w.startswith("--")]
            if any(w.startswith("--from") for w in words[1:]):
                continue
            sources += args[:-1]
    return sources


def test_the_stack_has_the_five_parts_each_pinned_or_built() -> None:
    found = services()
    assert set(found) == {"asterisk", "postgres", "prometheus", "grafana", "acd-a", "acd-b"}
    for name, service in found.items():
        image = service.get("image")
        if image is None:
            assert "build" in service, name
        else:
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image's version ({image})"


def test_every_bind_mount_exists_in_the_repo_and_every_named_volume_is_declared() -> None:
    declared = set(compose().get("volumes", {}))
    for name, service in services().items():
        for source, target in mounts(service):
            if is_bind(source):
                assert (COMPOSE_DIR / source).resolve().exists(), f"{name}: {source} -> {target} does not exist"
                assert (COMPOSE_DIR / source).resolve().is_relative_to(promql.ROOT), (
                    f"{name}: {source} is outside the repo"
                )
            else:
                assert source in declared, f"{name}: volume {source!r} is not declared"


def test_every_build_context_dockerfile_and_copied_file_exists() -> None:
    assert {name for name, _, _ in builds()} == {"asterisk", "acd-a", "acd-b"}
    for name, context, dockerfile in builds():
        assert context.is_dir() and context.is_relative_to(promql.ROOT), f"{name}: context {context}"
        assert dockerfile.is_file(), f"{name}: no {dockerfile}"
        ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
        allowed = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else None
        sources = copy_sources(dockerfile)
        assert sources, f"{name}: the Dockerfile copies nothing"
        for source in sources:
            assert (context / source).exists(), f"{name}: COPY {source}: not in {context}"
            if allowed is not None:  # "**" first, then "!path" for what the image needs
                wanted = PurePosixPath(source).as_posix().rstrip("/")
                assert any(line.strip("!/ ") == wanted for line in allowed if line.startswith("!")), (
                    f"{name}: {ignore.name} keeps {source} out of the build"
                )


def test_the_asterisk_entrypoint_is_executable_and_reads_the_mounted_dialplan() -> None:
    entrypoint = COMPOSE_DIR / "asterisk" / "entrypoint.sh"
    assert entrypoint.stat().st_mode & 0o111, "entrypoint.sh must be executable (COPY keeps the mode)"
    text = entrypoint.read_text(encoding="utf-8")
    (dialplan_target,) = [t for s, t in mounts(services()["asterisk"]) if s == "../../dialplan"]
    assert f"SRC={dialplan_target}" in text
    for template in re.findall(r'"\$SRC/(pbx/[\w.-]+)"', text):
        assert (promql.ROOT / "dialplan" / template).is_file(), template


def test_every_variable_the_stack_reads_is_in_env_example() -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text(encoding="utf-8")))
    example = (COMPOSE_DIR / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^(\w+)=", example, re.MULTILINE))
    assert used and used <= listed, used - listed


def listen_address(service: dict[str, Any]) -> str:
    (flag,) = [str(a) for a in service["command"] if str(a).startswith("--web.listen-address=")]
    return flag.split("=", 1)[1]


def test_grafana_reads_the_prometheus_of_the_stack() -> None:
    (source,) = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert source["url"] == f"http://{listen_address(services()['prometheus'])}"
    assert services()["grafana"].get("network_mode") == services()["prometheus"].get("network_mode") == "host"


def test_grafana_finds_the_dashboards_where_the_stack_mounts_them() -> None:
    grafana = services()["grafana"]
    targets = dict(mounts(grafana))
    (provider,) = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "acd.yml").read_text())["providers"]
    assert targets["../grafana/dashboards"] == provider["options"]["path"]
    assert targets["../grafana/provisioning"] == "/etc/grafana/provisioning"
    home = PurePosixPath(grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert str(home.parent) == provider["options"]["path"] and (GRAFANA / "dashboards" / home.name).is_file()


PAIR = ("acd-a", "acd-b")


def option(service: dict[str, Any], flag: str) -> str | None:
    """The value of ``flag`` in the service's ``acd run`` command (None: not given)."""
    command = [str(word) for word in service["command"]]
    return command[command.index(flag) + 1] if flag in command else None


def http_address(service: dict[str, Any]) -> str:
    """Where an ACD service serves HTTP: acd.toml's [http], with the command's --http-port."""
    (toml_source,) = [s for s, t in mounts(service) if t == "/etc/acd/acd.toml"]
    http = tomllib.loads((COMPOSE_DIR / toml_source).read_text(encoding="utf-8"))["http"]
    return f"{http['host']}:{option(service, '--http-port') or http['port']}"


def test_prometheus_scrapes_each_acd_where_it_serves_http() -> None:
    scrape = yaml.safe_load((promql.PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    (job,) = [j for j in scrape["scrape_configs"] if j["job_name"] == "acd"]
    targets = [t for static in job["static_configs"] for t in static["targets"]]
    assert targets == [http_address(services()[name]) for name in PAIR]
    for name in PAIR:
        assert services()[name].get("network_mode") == services()["prometheus"].get("network_mode") == "host"


def test_the_two_acds_are_a_pair_on_one_postgresql() -> None:
    """docs/operations.md: one database, one config, a name, an HTTP port and a journal each; a member that
    handed over (exit 0) is started again, as the standby."""
    a, b = (services()[name] for name in PAIR)
    assert a["environment"]["DATABASE_URL"] == b["environment"]["DATABASE_URL"]
    assert "@127.0.0.1:5432/" in a["environment"]["DATABASE_URL"]  # the stack's one postgres
    assert a["command"][:4] == b["command"][:4] == ["acd", "run", "-c", "/etc/acd/acd.toml"]
    assert dict(mounts(a))["../../acd.toml"] == dict(mounts(b))["../../acd.toml"] == "/etc/acd/acd.toml"
    assert {option(a, "--instance"), option(b, "--instance")} == {"acd-a", "acd-b"}
    assert http_address(a) != http_address(b)
    journals = [{s for s, t in mounts(m) if t == "/var/lib/acd"} for m in (a, b)]
    assert all(len(j) == 1 for j in journals) and journals[0] != journals[1]
    for member in (a, b):
        assert member["restart"] in ("always", "unless-stopped")  # not "on-failure": a handover exits 0
        assert member["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_postgres_18_keeps_its_data_in_the_volume() -> None:
    service = services()["postgres"]
    assert service["image"].split(":")[1].split(".")[0] == "18"
    # from 18 the image keeps data under /var/lib/postgresql/18/ and refuses a mount at .../data
    assert ("pgdata", "/var/lib/postgresql") in mounts(service)
