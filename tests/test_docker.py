"""docker/: no Docker engine runs here, so the Dockerfile and the compose file are checked statically: they parse,
every path and service they reference exists, the image is the pinned Airflow on Python 3.11, the settings they
pass are real settings, and the DuckDB writer pool and the single writer worker are wired up."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from transforms.core.settings import PROJECT_DIR, Settings
from transforms.orchestration import local_runner as airflow_support

DOCKER = PROJECT_DIR / "docker"
WRITER_QUEUE = "riskcard_writer"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (DOCKER / "Dockerfile").read_text()


def pinned_airflow() -> str:
    deps = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [d for d in deps if re.match(r"apache-airflow\s*==", d)]
    return pin.split("==")[1].strip()


def airflow_services(compose: dict) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items() if s.get("image", "").startswith("riskcard-airflow")}


def env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip().strip('"')
    return out


def test_image_is_the_pinned_airflow_on_python_311(dockerfile, compose):
    version = pinned_airflow()
    lock = (PROJECT_DIR / "requirements.lock").read_text()
    assert re.search(rf"^apache-airflow=={re.escape(version)} \\", lock, re.M), "lock and pyproject disagree"
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile, re.M))
    assert args["AIRFLOW_VERSION"] == version
    assert args["PYTHON_VERSION"] == "3.11"
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}-python\$\{PYTHON_VERSION\}$", dockerfile, re.M)
    build_args = compose["x-airflow-common"]["build"]["args"]
    assert build_args == {"AIRFLOW_VERSION": version, "PYTHON_VERSION": "3.11"}
    assert compose["x-airflow-common"]["image"].endswith(f":{version}")


def test_dockerfile_installs_the_locked_dependencies_and_copies_existing_paths(dockerfile):
    assert "pip install --no-cache-dir --require-hashes -r requirements.lock" in dockerfile
    copies = re.findall(r"^COPY (?:--chown=\S+ )?(.+) (\S+)$", dockerfile, re.M)
    sources = [src for group, _ in copies for src in group.split()]
    assert {"requirements.lock", "transforms", "dags", "dbt_project", "seeds", "expectations"} <= set(sources)
    for src in sources:
        assert (PROJECT_DIR / src).exists(), f"Dockerfile copies {src}, which is not in the repository"
    # the DAG folder the image points Airflow at is where the dags are copied
    workdir = re.search(r"^WORKDIR (\S+)$", dockerfile, re.M).group(1)
    dags_target = dict((s, t) for s, t in copies)["dags"]
    assert re.search(rf"AIRFLOW__CORE__DAGS_FOLDER={re.escape(workdir)}/{dags_target.strip('./')}\b", dockerfile)
    # the image build checks the DAGs import with a command that exists
    (check,) = re.findall(r"^RUN python -m transforms\.orchestration\.local_runner (\S+)", dockerfile, re.M)
    assert check in airflow_support.COMMANDS
    ignored = (DOCKER / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", "warehouse", "landing", ".git"} <= set(ignored)


def test_compose_build_context_and_services(compose):
    build = compose["x-airflow-common"]["build"]
    context = (DOCKER / build["context"]).resolve()
    assert context == PROJECT_DIR
    assert (context / build["dockerfile"]).is_file()
    services = compose["services"]
    default = {n for n, s in services.items() if not s.get("profiles")}
    assert default == {
        "postgres", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
        "airflow-triggerer",
    }  # fmt: skip
    celery = {n for n, s in services.items() if "celery" in s.get("profiles", [])}
    assert celery == {"redis", "airflow-worker", "riskcard-writer"}
    for name, service in services.items():
        for dep in service.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"
            # a default service must not wait for a service that only the celery profile starts
            if name in default:
                assert dep in default, f"{name} depends on {dep}, which is only in a profile"


def test_local_executor_by_default_and_postgres_metadata(compose):
    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
    assert "@postgres/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080/")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/riskcard/dags"


def test_celery_profile_scales_out_with_one_writer(compose):
    services = compose["services"]
    celery_env = env_file(DOCKER / "celery.env")
    assert celery_env["AIRFLOW_EXECUTOR"] == "CeleryExecutor"
    assert celery_env["RISKCARD_WRITER_QUEUE"] == WRITER_QUEUE
    workers = services["airflow-worker"]
    assert workers["deploy"]["replicas"] >= 2
    assert "--queues default" in workers["command"]
    assert all(v.endswith(":ro") for v in workers["volumes"] if "/data/" in v), "workers must not write the data"
    writer = services["riskcard-writer"]
    assert f"--queues {WRITER_QUEUE}" in writer["command"] and "--concurrency 1" in writer["command"]
    assert "deploy" not in writer, "exactly one writer worker"
    assert compose["x-airflow-common"]["environment"]["RISKCARD_WRITER_QUEUE"] == "${RISKCARD_WRITER_QUEUE:-default}"


def test_landing_and_warehouse_volumes(compose):
    volumes = compose["x-airflow-common"]["volumes"]
    env = compose["x-airflow-common"]["environment"]
    mounts = {v.split(":")[-1] if not v.endswith((":ro", ":rw")) else v.split(":")[-2]: v for v in volumes}
    warehouse_dir = str(Path(env["RISKCARD_WAREHOUSE"]).parent)
    assert warehouse_dir in mounts and env["RISKCARD_LANDING"] in mounts
    named = {v.split(":")[0] for v in volumes if not v.startswith(("$", ".", "/"))}
    for service in compose["services"].values():
        named |= {v.split(":")[0] for v in service.get("volumes", []) if not v.startswith(("$", ".", "/"))}
    assert named <= set(compose["volumes"]), f"undeclared named volumes: {named - set(compose['volumes'])}"
    assert "warehouse" in named


def test_init_migrates_and_creates_the_writer_pool(compose):
    init = compose["services"]["airflow-init"]
    command = " ".join(init["command"])
    assert "airflow db migrate" in command
    assert "python -m transforms.orchestration.local_runner ensure-pool" in command
    assert "ensure-pool" in airflow_support.COMMANDS
    env = compose["x-airflow-common"]["environment"]
    assert env["RISKCARD_WRITER_POOL"] == Settings().writer_pool
    # everything that runs Airflow waits for the init to finish
    for name, service in airflow_services(compose).items():
        if name != "airflow-init":
            assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_compose_passes_only_real_settings_and_documents_every_secret(compose):
    known = {f"RISKCARD_{f.name.upper()}" for f in fields(Settings)}
    env = compose["x-airflow-common"]["environment"]
    passed = {k for k in env if k.startswith("RISKCARD_")}
    assert passed <= known, f"not settings: {passed - known}"
    text = (DOCKER / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert {"RISKCARD_SECRET_KEY", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET"} <= required
    example = env_file(DOCKER / ".env.example")
    assert required <= set(example), f"not in .env.example: {required - set(example)}"
    assert not any(example[k] for k in required), ".env.example must not ship secrets"
