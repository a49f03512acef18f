"""The deploy files agree with the code they run (``make lint-deploy`` checks their schemas).

A schema cannot know that the KEDA triggers must name kombu's priority sub-lists under the
fleet's key prefix, that the compose and Kubernetes workers consume the Makefile's queues, that
a grace period outlasts the longest task, or that a secret never sits in a ConfigMap; these
tests do. They read the files and the code, nothing else: no engine, no cluster, no network.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kombu.transport.redis import Channel
from pydantic import SecretStr

import celeryconfig
from nusaworker.providers.transport import RetryPolicy
from nusaworker.routing import SEND_QUEUES
from nusaworker.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
WORKER_ROLES = ("otp", "bulk", "tracking")
# The Kubernetes release `make lint-deploy` validates against (the oldest the manifests claim).
K8S_VERSION = "1.31"


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def manifests() -> list[dict[str, Any]]:
    """Every object the kustomization applies."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [doc for name in kustomization["resources"] for doc in load_all(K8S / name)]


def deployments() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in manifests() if d["kind"] == "Deployment"}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return data


def makefile_worker(role: str) -> dict[str, str]:
    """The -Q, -c and -n of the Makefile's worker target for ``role``."""
    text = (ROOT / "Makefile").read_text()
    variables = dict(re.findall(r"^(QUEUES_\w+)\s*:=\s*(\S+)", text, re.M))
    target = {"otp": "worker-otp", "bulk": "worker", "tracking": "worker-tracking"}[role]
    recipe = re.search(rf"^{target}:.*\n\t(.+)$", text, re.M)
    assert recipe, f"Makefile has no {target} target"
    words = re.sub(r"\$\((QUEUES_\w+)\)", lambda m: variables[m.group(1)], recipe.group(1))
    return options(shlex.split(words))


def options(argv: list[str]) -> dict[str, str]:
    """The worker options that decide what a worker consumes and how it is named."""
    found = {flag: argv[argv.index(flag) + 1] for flag in ("-Q", "-c", "-n") if flag in argv}
    found["pool"] = argv[argv.index("--pool") + 1] if "--pool" in argv else ""
    return found


def priority_lists(queue: str) -> list[str]:
    """The Redis lists kombu keeps ``queue`` in, by kombu's own naming, with the fleet's
    transport options (celeryconfig) and default key prefix (nusaworker.factories sets it as
    kombu's global_keyprefix)."""
    transport = celeryconfig.broker_transport_options
    steps = transport["priority_steps"]
    channel = SimpleNamespace(sep=transport["sep"], priority_steps=steps)
    channel.priority = lambda n: Channel.priority(channel, n)
    prefix = Settings.model_fields["key_prefix"].default
    return [prefix + Channel._q_for_pri(channel, queue, step) for step in steps]


def test_keda_triggers_name_every_priority_list_of_every_bulk_queue() -> None:
    (scaled,) = load_all(K8S / "keda-scaledobject.yaml")
    bulk_queues = makefile_worker("bulk")["-Q"].split(",")
    assert bulk_queues == [q for q in SEND_QUEUES if q != "otp"]
    expected = [key for queue in bulk_queues for key in priority_lists(queue)]
    triggers = scaled["spec"]["triggers"]
    assert [t["metadata"]["listName"] for t in triggers] == expected
    assert "nw:wa:3" in expected and "nw:wa" in expected
    assert {t["type"] for t in triggers} == {"redis"}
    assert scaled["spec"]["scaleTargetRef"]["name"] in deployments()


def test_keda_formula_sums_every_trigger_once() -> None:
    (scaled,) = load_all(K8S / "keda-scaledobject.yaml")
    names = [t["name"] for t in scaled["spec"]["triggers"]]
    modifiers = scaled["spec"]["advanced"]["scalingModifiers"]
    terms = [term.strip() for term in modifiers["formula"].split("+")]
    assert sorted(terms) == sorted(names) and len(set(names)) == len(names)
    assert modifiers["metricType"] == "AverageValue"
    assert 1 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"] <= 16


@pytest.mark.parametrize("role", WORKER_ROLES)
def test_worker_commands_match_the_makefile(role: str) -> None:
    want = makefile_worker(role)
    (container,) = deployments()[f"worker-{role}"]["spec"]["template"]["spec"]["containers"]
    assert options(container["command"]) == want
    assert options(compose()["services"][f"worker-{role}"]["command"]) == want


def test_kustomization_applies_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk


def test_pods_are_non_root_read_only_and_outlast_the_longest_task() -> None:
    settings = Settings()
    policy = RetryPolicy()
    # The last transport attempt may start just before max_retry_time and then take a whole
    # connect + read timeout: the longest a running send can take, gate waits aside.
    longest_task_s = policy.max_retry_time + settings.connect_timeout_s + settings.read_timeout_s
    for name, deployment in deployments().items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert "memory" in container["resources"]["limits"], name
        if name.startswith("worker-"):
            assert pod["terminationGracePeriodSeconds"] > longest_task_s + 15, name
    services = compose()["services"]
    for role in WORKER_ROLES:
        grace = services[f"worker-{role}"].get("stop_grace_period", "10s")
        assert int(grace.rstrip("s")) > longest_task_s + 15, role


def test_every_worker_role_has_a_disruption_budget() -> None:
    selected = {
        d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for d in manifests()
        if d["kind"] == "PodDisruptionBudget"
    }
    assert {f"worker-{role}" for role in WORKER_ROLES} <= selected


def test_third_party_images_are_pinned_and_the_exporter_gets_no_provider_secret() -> None:
    """An upgrade of Redis, Prometheus, Grafana or celery-exporter is a reviewed change, never
    a pull of ``latest``; the exporter (someone else's image) sees the broker URL only."""
    images = [s["image"] for s in compose()["services"].values() if "image" in s]
    images += [
        c["image"]
        for d in deployments().values()
        for c in d["spec"]["template"]["spec"]["containers"]
    ]
    third_party = [i for i in images if not i.startswith("nusaworker")]
    assert third_party and all(":" in i and not i.endswith(":latest") for i in third_party)
    exporter = deployments()["celery-exporter"]
    [container] = exporter["spec"]["template"]["spec"]["containers"]
    assert container["image"] == compose()["services"]["celery-exporter"]["image"]
    assert container["args"] == compose()["services"]["celery-exporter"]["command"]
    assert "envFrom" not in container
    assert [e["name"] for e in container["env"]] == ["CE_BROKER_URL"]
    assert exporter["spec"]["replicas"] == 1  # two would count every event twice


def test_compose_redis_keeps_every_write() -> None:
    command = compose()["services"]["redis"]["command"]
    flags = dict(zip(command[1::2], command[2::2], strict=True))
    assert flags["--appendonly"] == "yes"
    assert flags["--appendfsync"] == "everysec"
    assert flags["--maxmemory-policy"] == "noeviction"


def test_two_beats_run_one_schedule() -> None:
    """celery-redbeat's lock lets one beat run the schedule; the second stands by."""
    assert celeryconfig.beat_scheduler.endswith(":RedBeatScheduler")
    beats = [s for s in compose()["services"].values() if s.get("command", [])[3:4] == ["beat"]]
    assert len(beats) == 2
    assert deployments()["beat"]["spec"]["replicas"] == 2


def secret_settings() -> set[str]:
    """The environment names of every secret setting, and of those that may carry one."""
    names = {n for n, f in Settings.model_fields.items() if f.annotation is SecretStr}
    names |= {"redis_url", "accounts"}  # a password in the URL; credentials in the JSON
    return {f"NUSAWORKER_{n.upper()}" for n in names}


def test_no_secret_is_written_in_a_deploy_file() -> None:
    secrets = secret_settings()
    assert "NUSAWORKER_NUSASMS_API_KEY" in secrets and "NUSAWORKER_CALLBACK_TOKEN" in secrets
    (configmap,) = [d for d in manifests() if d["kind"] == "ConfigMap"]
    assert not secrets & set(configmap["data"])
    for name, service in compose()["services"].items():
        assert not secrets & set(service.get("environment", {})), name
    for deployment in deployments().values():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert not secrets & {e["name"] for e in container.get("env", [])}
    assert not any(d["kind"] == "Secret" for d in manifests())


def test_validators_reject_a_broken_manifest() -> None:
    """The checks `make lint-deploy` runs can fail: a misspelt field is caught, not pruned."""
    deployment = deployments()["worker-otp"]
    kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    broken = copy.deepcopy(deployment)
    pod = broken["spec"]["template"]["spec"]
    pod["terminationGracePeriodSecond"] = pod.pop("terminationGracePeriodSeconds")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)

    schema = json.loads((DEPLOY / "schemas" / "keda-scaledobject-v1alpha1.json").read_text())
    (scaled,) = load_all(K8S / "keda-scaledobject.yaml")
    jsonschema.validate(scaled, schema)
    broken = copy.deepcopy(scaled)
    broken["spec"]["maxReplicas"] = broken["spec"].pop("maxReplicaCount")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
