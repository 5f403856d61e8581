"""Finding 11: scale-out and deployment are locked down.

Kubernetes: every pod runs as non-root on a read-only root filesystem, without privilege escalation,
capabilities or a service-account token, under the runtime's default seccomp profile; NetworkPolicies deny
everything by default and allow only the flows the assistant needs. Scale-out on one machine: PostgreSQL
wants a scram-sha-256 password and Redis a password, both generated into the services' folder with mode 0600.
Secrets and databases written under var/ are private to their owner from the moment they exist.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from bot import settings
from bot.ops import launcher
from bot.ops.services import Services

ROOT = launcher.ROOT
K8S = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
HELM = {
    "rasa": ROOT / "deploy" / "helm" / "values-rasa.yaml",
    "actions": ROOT / "deploy" / "helm" / "values-action-server.yaml",
}
NAMESPACE = "zhitang"


def manifests(kind: str) -> list[dict[str, Any]]:
    docs = [doc for path in K8S for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return [doc for doc in docs if doc.get("kind") == kind]


def helm_values(name: str) -> dict[str, Any]:
    return yaml.safe_load(HELM[name].read_text(encoding="utf-8"))


# --- securityContext ---------------------------------------------------------------------------------------------


def assert_locked_pod(pod: dict[str, Any]) -> None:
    assert pod.get("runAsNonRoot") is True
    assert pod.get("seccompProfile") == {"type": "RuntimeDefault"}


def assert_locked_container(container: dict[str, Any]) -> None:
    assert container.get("readOnlyRootFilesystem") is True
    assert container.get("allowPrivilegeEscalation") is False
    assert container.get("capabilities", {}).get("drop") == ["ALL"]
    assert container.get("privileged", False) is False


def writable_tmp(volumes: list[dict[str, Any]], mounts: list[dict[str, Any]]) -> bool:
    """A read-only root still needs a scratch /tmp (model unpacking, jieba's cache): an emptyDir."""
    scratch = {v["name"] for v in volumes if "emptyDir" in v}
    return any(m["mountPath"] == "/tmp" and m["name"] in scratch for m in mounts)


def test_the_gateways_pods_are_locked_down():
    deployments = manifests("Deployment")
    assert [d["metadata"]["name"] for d in deployments] == ["zhitang-gateway"]
    pod = deployments[0]["spec"]["template"]["spec"]
    assert pod.get("automountServiceAccountToken") is False
    assert_locked_pod(pod["securityContext"])
    for container in pod["containers"]:
        assert_locked_container(container["securityContext"])
        assert writable_tmp(pod.get("volumes", []), container.get("volumeMounts", []))


@pytest.mark.parametrize("chart", sorted(HELM))
def test_rasa_and_the_action_server_are_locked_down_through_their_charts_values(chart: str):
    """The rasa and rasa-action-server charts' own value names: podSecurityContext, securityContext, ..."""
    values = helm_values(chart)
    assert_locked_pod(values["podSecurityContext"])
    assert_locked_container(values["securityContext"])
    assert values["securityContext"].get("runAsNonRoot") is True
    assert writable_tmp(values.get("volumes", []), values.get("volumeMounts", []))
    # The charts cannot set automountServiceAccountToken on the pod: they run under a service account
    # of ours that does not mount its token.
    assert values["serviceAccount"]["create"] is False
    accounts = {a["metadata"]["name"]: a for a in manifests("ServiceAccount")}
    assert accounts[values["serviceAccount"]["name"]]["automountServiceAccountToken"] is False


def test_the_gateway_runs_under_the_service_account_without_a_token():
    pod = manifests("Deployment")[0]["spec"]["template"]["spec"]
    account = {a["metadata"]["name"]: a for a in manifests("ServiceAccount")}[pod["serviceAccountName"]]
    assert account["automountServiceAccountToken"] is False


def test_the_internal_secrets_reach_rasa_the_action_server_and_the_gateway():
    def secret_env(env: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
        return {
            e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
            for e in env
            if "valueFrom" in e
        }

    rasa, actions = secret_env(helm_values("rasa")["extraEnv"]), secret_env(helm_values("actions")["extraEnv"])
    gateway = secret_env(manifests("Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["env"])
    assert rasa["ZHITANG_ACTION_SECRET"] == actions["ZHITANG_ACTION_SECRET"]
    assert rasa["ZHITANG_RASA_TOKEN"] == gateway["ZHITANG_RASA_TOKEN"]
    endpoints = helm_values("rasa")["applicationSettings"]["endpoints"]
    action = endpoints["additionalEndpoints"]["action_endpoint"]
    assert action["headers"] == {"Authorization": "Bearer ${ZHITANG_ACTION_SECRET}"}
    assert helm_values("actions")["command"][-1] == "bot.ops.action_server"


# --- NetworkPolicies ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pod:
    labels: dict[str, str]
    namespace: str = NAMESPACE
    ip: str = "10.1.0.10"


@dataclass(frozen=True)
class Outside:
    """An address outside the cluster."""

    ip: str
    labels: dict[str, str] = field(default_factory=dict)
    namespace: str = ""


NAMESPACE_LABELS = {
    NAMESPACE: {"kubernetes.io/metadata.name": NAMESPACE},
    "ingress-nginx": {"kubernetes.io/metadata.name": "ingress-nginx"},
    "kube-system": {"kubernetes.io/metadata.name": "kube-system"},
    "elsewhere": {"kubernetes.io/metadata.name": "elsewhere"},
}
GATEWAY = Pod({"app.kubernetes.io/name": "zhitang-gateway"})
RASA = Pod({"app.kubernetes.io/name": "rasa", "app.kubernetes.io/instance": "zhitang-rasa"})
ACTIONS = Pod({"app.kubernetes.io/name": "rasa-action-server", "app.kubernetes.io/instance": "zhitang-actions"})
KB_JOB = Pod({"app.kubernetes.io/name": "zhitang-kb-build"})
POSTGRES = Pod({"app.kubernetes.io/name": "postgresql"})
REDIS = Pod({"app.kubernetes.io/name": "redis"})
OTHER = Pod({"app": "something-else"})
INGRESS = Pod({"app.kubernetes.io/name": "ingress-nginx"}, namespace="ingress-nginx")
DNS = Pod({"k8s-app": "kube-dns"}, namespace="kube-system")
FOREIGN = Pod({"app.kubernetes.io/name": "zhitang-gateway"}, namespace="elsewhere")  # same labels, other namespace
INTERNET = Outside("93.184.216.34")


def _labels_match(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    assert set(selector) <= {"matchLabels"}, "only matchLabels is modelled here"
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _peer_matches(peer: dict[str, Any], policy_namespace: str, other: Pod | Outside) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        inside = ipaddress.ip_address(other.ip) in ipaddress.ip_network(block["cidr"])
        return inside and not any(
            ipaddress.ip_address(other.ip) in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if isinstance(other, Outside):
        return False
    if "namespaceSelector" in peer:
        namespace_ok = _labels_match(peer["namespaceSelector"], NAMESPACE_LABELS[other.namespace])
    else:
        namespace_ok = other.namespace == policy_namespace
    return namespace_ok and _labels_match(peer.get("podSelector"), other.labels)


def _port_matches(rule: dict[str, Any], port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    return not ports or any(p.get("port") == port and p.get("protocol", "TCP") == protocol for p in ports)


def _direction_allows(policies, pod: Pod, other, port: int, protocol: str, direction: str) -> bool:
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace", NAMESPACE) == pod.namespace
        and _labels_match(p["spec"]["podSelector"], pod.labels)
        and direction in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not selecting:
        return True  # not isolated in this direction
    for policy in selecting:
        namespace = policy["metadata"].get("namespace", NAMESPACE)
        for rule in policy["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if (not peers or any(_peer_matches(peer, namespace, other) for peer in peers)) and _port_matches(
                rule, port, protocol
            ):
                return True
    return False


def allowed(source: Pod, destination: Pod | Outside, port: int, protocol: str = "TCP") -> bool:
    """Whether the NetworkPolicies of deploy/k8s let `source` open a connection to `destination` on `port`."""
    policies = manifests("NetworkPolicy")
    egress = _direction_allows(policies, source, destination, port, protocol, "Egress")
    if isinstance(destination, Outside) or destination.namespace != NAMESPACE:
        return egress  # the other side's policies are not ours
    return egress and _direction_allows(policies, destination, source, port, protocol, "Ingress")


def test_a_default_deny_policy_isolates_every_pod_both_ways():
    deny = [
        p
        for p in manifests("NetworkPolicy")
        if p["spec"]["podSelector"] in ({}, {"matchLabels": {}})
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert len(deny) == 1
    assert not allowed(OTHER, OTHER, 8080), "two unrelated pods cannot talk"


@pytest.mark.parametrize(
    "source, destination, port, protocol",
    [
        (INGRESS, GATEWAY, 8000, "TCP"),
        (GATEWAY, RASA, 5005, "TCP"),
        (GATEWAY, POSTGRES, 5432, "TCP"),  # the KB (staff admin, feedback)
        (GATEWAY, REDIS, 6379, "TCP"),  # shared rate limits
        (RASA, ACTIONS, 5055, "TCP"),
        (RASA, POSTGRES, 5432, "TCP"),  # tracker store
        (RASA, REDIS, 6379, "TCP"),  # lock store
        (ACTIONS, POSTGRES, 5432, "TCP"),  # the KB
        (KB_JOB, POSTGRES, 5432, "TCP"),  # `python -m kb build` before a release
        (GATEWAY, DNS, 53, "UDP"),
        (RASA, DNS, 53, "UDP"),
        (ACTIONS, DNS, 53, "UDP"),
        (RASA, DNS, 53, "TCP"),
    ],
    ids=lambda v: v if isinstance(v, (int, str)) else next(iter(v.labels.values())),
)
def test_the_flows_the_assistant_needs_are_allowed(source, destination, port, protocol):
    assert allowed(source, destination, port, protocol)


@pytest.mark.parametrize(
    "source, destination, port",
    [
        (OTHER, RASA, 5005),  # nobody but the gateway speaks in residents' conversations
        (FOREIGN, RASA, 5005),  # not even a pod with the gateway's labels in another namespace
        (INGRESS, RASA, 5005),
        (OTHER, ACTIONS, 5055),  # nobody but Rasa calls the action server
        (GATEWAY, ACTIONS, 5055),
        (ACTIONS, RASA, 5005),
        (OTHER, GATEWAY, 8000),  # residents come through the ingress controller
        (OTHER, POSTGRES, 5432),
        (OTHER, REDIS, 6379),
        (ACTIONS, REDIS, 6379),
        (RASA, INTERNET, 443),  # nothing leaves the cluster: the model is in the image, telemetry is off
        (ACTIONS, INTERNET, 443),
        (GATEWAY, INTERNET, 443),
        (GATEWAY, INTERNET, 80),
    ],
    ids=lambda v: v if isinstance(v, int) else next(iter(v.labels.values()), v.ip) if hasattr(v, "ip") else str(v),
)
def test_everything_else_is_denied(source, destination, port):
    assert not allowed(source, destination, port)


def test_the_rasa_chart_leaves_network_policies_to_ours():
    """The chart's own policies (enabled) would allow Rasa out to any host on 80/443."""
    assert helm_values("rasa")["networkPolicy"]["enabled"] is False


# --- PostgreSQL and Redis of the scale-out mode ---------------------------------------------------------------


def test_postgresql_accepts_only_scram_passwords_over_tcp(tmp_path: Path):
    rules = [
        line.split() for line in Services(tmp_path).pg_hba().splitlines() if line.strip() and not line.startswith("#")
    ]
    assert rules, "pg_hba.conf has rules"
    assert all(rule[-1] != "trust" and "trust" not in rule for rule in rules)
    host = [rule for rule in rules if rule[0].startswith("host")]
    assert host and all(rule[-1] == "scram-sha-256" for rule in host)
    assert {rule[3] for rule in host} <= {"127.0.0.1/32", "::1/128"}


def test_the_services_passwords_are_generated_private_and_used(tmp_path: Path):
    services = Services(tmp_path / "services")
    assert services.pg_password != "zhitang-local" and len(services.pg_password) >= 32
    assert len(services.redis_password) >= 32 and services.redis_password != services.pg_password
    for name in ("pg-password", "redis-password"):
        assert stat.S_IMODE((tmp_path / "services" / name).stat().st_mode) == 0o600
    assert f":{services.pg_password}@" in services.url("zhitang_kb")
    assert f":{services.redis_password}@" in services.redis_url
    assert Services(tmp_path / "services").pg_password == services.pg_password, "generated once"


def test_the_scaled_replicas_endpoints_carry_the_passwords_and_are_private(tmp_path: Path):
    from bot.ops.scaled import write_scaled_endpoints

    services = Services(tmp_path / "services")
    path = write_scaled_endpoints(tmp_path / "endpoints.yml", "http://127.0.0.1:1/webhook", services)
    endpoints = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert endpoints["tracker_store"]["password"] == services.pg_password
    assert endpoints["lock_store"]["password"] == services.redis_password
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --- Files under var/ --------------------------------------------------------------------------------------------


def test_the_admin_key_file_is_private_from_the_moment_it_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Even if the process stops right after writing it (no chmod ever runs), nobody else can read the key."""
    from bot.web.admin import security

    monkeypatch.setattr(settings, "ADMIN_SECRET_KEY", "")
    monkeypatch.setattr(settings, "VAR_DIR", tmp_path / "var")
    monkeypatch.setattr(Path, "chmod", lambda *a, **k: None)
    monkeypatch.setattr(os, "chmod", lambda *a, **k: None)
    old = os.umask(0o022)
    try:
        key = security.secret_key()
    finally:
        os.umask(old)
    path = tmp_path / "var" / "admin-secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 32 and security.secret_key() == key


def test_processes_the_launcher_starts_write_private_files(tmp_path: Path):
    """Rasa's tracker.db, the KB, logs: every file a launched process creates is its owner's only."""
    script = f"open({str(tmp_path / 'written')!r}, 'w').write('x')"
    process = launcher.Process(
        "writer", [str(launcher.APP_PYTHON), "-c", script], dict(os.environ), tmp_path / "w.log", ""
    )
    process.start()
    assert process.popen is not None and process.popen.wait(30) == 0
    assert stat.S_IMODE((tmp_path / "written").stat().st_mode) == 0o600


def test_the_gateway_writes_var_with_umask_077(monkeypatch: pytest.MonkeyPatch):
    import uvicorn

    from bot.web import __main__ as web_main

    seen: list[int] = []

    def fake_run(*args, **kwargs):
        current = os.umask(0)
        os.umask(current)
        seen.append(current)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    old = os.umask(0o022)
    try:
        web_main.main()
    finally:
        os.umask(old)
    assert seen == [0o077]


def test_make_run_starts_everything_with_umask_077():
    """`make run` creates var/tracker.db, the KB, the secrets and the supervised processes with umask 077."""
    out = subprocess.run(
        ["make", "-n", "-W", "requirements/app.txt", "run"], cwd=ROOT, capture_output=True, text=True
    ).stdout.splitlines()
    supervisor = [line for line in out if "bot.ops.supervisor Procfile" in line]
    assert supervisor and all("umask 077" in line for line in supervisor)


# --- uvicorn reads CIDR proxy lists -----------------------------------------------------------------------------


def test_the_uvicorn_requirement_only_allows_versions_that_read_cidr_lists():
    """FORWARDED_ALLOW_IPS=10.0.0.0/8 (deploy/k8s/gateway.yaml) is read as a network from uvicorn 0.31.1 on;
    older versions compare it as a literal address and trust no proxy."""
    lines = (ROOT / "requirements" / "app.in").read_text(encoding="utf-8").splitlines()
    (spec,) = [Requirement(line.split("#")[0]) for line in lines if line.startswith("uvicorn")]
    assert not spec.specifier.contains("0.30.6") and not spec.specifier.contains("0.31.0")
    assert spec.specifier.contains("0.31.1")


async def test_the_installed_uvicorn_trusts_a_proxy_inside_a_cidr_list():
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    seen: dict[str, Any] = {}

    async def app(scope, receive, send):
        seen["client"] = scope["client"]

    middleware = ProxyHeadersMiddleware(app, trusted_hosts="10.0.0.0/8")
    scope = {
        "type": "http",
        "scheme": "http",
        "client": ("10.2.3.4", 5000),
        "headers": [(b"x-forwarded-for", b"203.0.113.7")],
    }
    await middleware(scope, None, None)
    assert seen["client"][0] == "203.0.113.7"
