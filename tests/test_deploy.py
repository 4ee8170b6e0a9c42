"""deploy/ parses and refers to things that exist: files, programs, courses, names, ports.

No Kubernetes runs here; these checks catch the drift that breaks a deployment silently (a
course added without its group, a renamed volume, a command the image does not have).
"""

from __future__ import annotations

import re
import sys

import pytest
import yaml

from autograder.cli import build_parser
from autograder.courses import REPO_ROOT, all_courses

DEPLOY = REPO_ROOT / "deploy"
VENV_BIN = REPO_ROOT / ".venv" / "bin"
IMAGE = "poc2prod/course:0.1"
Z2JH_KEYS = {"hub", "proxy", "singleuser", "scheduling", "prePuller", "ingress", "cull",
             "debug", "rbac", "imagePullSecret", "global", "custom"}


def _values() -> dict:
    return yaml.safe_load((DEPLOY / "z2jh-values.yaml").read_text())


def _documents(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


def _dockerfile() -> list[str]:
    return (DEPLOY / "Dockerfile").read_text().splitlines()


def test_the_dockerfile_copies_what_exists_and_pins_with_the_lock():
    lines = _dockerfile()
    base = next(line for line in lines if line.startswith("FROM "))
    assert f"python:{sys.version_info.major}.{sys.version_info.minor}-" in base
    copied = [line.split()[1:-1] for line in lines if line.startswith("COPY ")]
    for sources in copied:
        for source in sources:
            assert (REPO_ROOT / source).exists(), f"COPY {source}: not in the repository"
    assert any("--constraint constraints.txt" in line for line in lines)
    courses = {c.name for c in all_courses()}
    assert courses <= {s for sources in copied for s in sources}, "every course is in the image"
    command = next(line for line in lines if line.startswith("CMD "))
    program = re.findall(r'"([^"]+)"', command)[0]
    assert (VENV_BIN / program).exists(), f"CMD {program}: not installed by the project"


def test_the_helm_values_use_known_keys_and_the_course_image():
    values = _values()
    assert set(values) <= Z2JH_KEYS, set(values) - Z2JH_KEYS
    image = values["singleuser"]["image"]
    assert f"{image['name']}:{image['tag']}" == IMAGE
    assert (VENV_BIN / values["singleuser"]["cmd"]).exists()
    assert values["singleuser"]["uid"] == 1000 and "--uid 1000" in "".join(_dockerfile())


def test_every_course_has_its_nbgrader_groups():
    values = _values()
    courses = sorted(c.name for c in all_courses())
    for name, code in values["hub"]["extraConfig"].items():
        compile(code, name, "exec")
    snippet = values["hub"]["extraConfig"]["poc2prod-courses"]
    namespace: dict = {"c": _Anything()}
    exec(snippet, namespace)  # noqa: S102 - our own file
    assert sorted(namespace["COURSES"]) == courses
    learner = values["hub"]["loadRoles"]["learner"]
    assert sorted(learner["groups"]) == [f"nbgrader-{c}" for c in courses]
    assert "read:users:groups!user" in learner["scopes"]


def test_the_exchange_volume_is_defined_and_mounted_where_nbgrader_looks():
    singleuser = _values()["singleuser"]
    claim = singleuser["storage"]["extraVolumes"][0]["persistentVolumeClaim"]["claimName"]
    (volume,) = _documents("exchange-volume.yaml")
    assert volume["kind"] == "PersistentVolumeClaim" and volume["metadata"]["name"] == claim
    assert "ReadWriteMany" in volume["spec"]["accessModes"]
    mount = singleuser["storage"]["extraVolumeMounts"][0]["mountPath"]
    config = singleuser["extraFiles"]["nbgrader-config"]["stringData"]
    compile(config, "nbgrader_config.py", "exec")
    assert f'c.Exchange.root = "{mount}"' in config


def test_the_grading_cluster_runs_the_image_and_finds_its_scheduler():
    documents = _documents("dask-grading.yaml")
    kinds = {(d["kind"], d["metadata"]["name"]) for d in documents}
    service = next(d for d in documents if d["kind"] == "Service")
    port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "scheduler")
    address = f"tcp://{service['metadata']['name']}:{port}"
    containers = [c for d in documents if d["kind"] == "Deployment"
                  for c in d["spec"]["template"]["spec"]["containers"]]
    assert {c["image"] for c in containers} == {IMAGE}
    for container in containers:
        assert (VENV_BIN / container["command"][0]).exists(), container["command"][0]
    worker = next(c for c in containers if c["name"] == "worker")
    assert address in worker["command"]
    assert ("Deployment", "poc2prod-dask-scheduler") in kinds
    grade = build_parser().parse_args(["grade", "c", "a", "--scheduler", address])
    assert grade.scheduler == address
    assert address in (DEPLOY / "dask-grading.yaml").read_text().split("poc2prod grade")[1]


@pytest.mark.parametrize("name", ["Dockerfile", "z2jh-values.yaml", "exchange-volume.yaml",
                                  "dask-grading.yaml"])
def test_the_scaling_page_explains_every_file(name):
    assert f"deploy/{name}" in (REPO_ROOT / "docs" / "scaling.md").read_text()


class _Anything:
    """Stands in for JupyterHub's config object ``c``: any attribute, any assignment."""

    def __getattr__(self, name):
        return _Anything()

    def __setattr__(self, name, value):
        pass
