"""deploy/kubernetes/fer-serve.yaml: valid against Kubernetes' own schemas (strict: no unknown fields),
and agreeing with the image and the service: the port, the user, the probes' routes, the grace period
SIGTERM's drain needs, and a memory limit at least twice the peak the container benchmark measured."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason='the deploy tests need the test extra: pip install -e ".[test]"')
kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason='the deploy tests need the test extra: pip install -e ".[test]"'
)

from fer_runtime.serve.cli import GRACE_S  # noqa: E402
from fer_runtime.serve.settings import ServeSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "deploy" / "kubernetes" / "fer-serve.yaml"
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def documents() -> dict[str, dict]:
    return {document["kind"]: document for document in yaml.safe_load_all(MANIFEST.read_text())}


def container_spec() -> dict:
    return documents()["Deployment"]["spec"]["template"]["spec"]


def test_every_resource_is_valid_kubernetes():
    assert set(documents()) == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    for document in documents().values():
        kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


def test_a_misspelt_field_is_refused():
    deployment = documents()["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)


def test_the_manifest_agrees_with_the_image_and_the_service():
    containerfile = (REPO / "Containerfile").read_text()
    spec = container_spec()
    container = spec["containers"][0]
    assert f"FER_SERVE_PORT={container['ports'][0]['containerPort']}" in containerfile
    assert re.search(rf"^USER {spec['securityContext']['runAsUser']}:", containerfile, re.M)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["terminationGracePeriodSeconds"] >= ServeSettings().timeout_s + GRACE_S


def test_the_memory_limit_is_twice_the_measured_peak():
    results = sorted((REPO / "benchmarks" / "results").glob("*-container.json"))
    assert results, "run python -m benchmarks.measure_container"
    peak_mb = json.loads(results[-1].read_text())["container"]["peak_mb"]
    limit = container_spec()["containers"][0]["resources"]["limits"]["memory"]
    number, unit = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", limit).groups()
    assert int(number) * UNITS[unit] >= 2 * peak_mb * 2**20
