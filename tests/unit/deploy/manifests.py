"""Renders the kustomize overlays and answers questions about the result: which workloads
exist, their pods' labels, and whether the NetworkPolicies let one pod reach another."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.unit.deploy.dockerfile import REPO

OVERLAYS = REPO / "deploy" / "k8s" / "overlays"
Doc = dict[str, Any]


def kubectl() -> str | None:
    return shutil.which("kubectl")


def render(directory: Path) -> list[Doc]:
    binary = kubectl()
    assert binary is not None, (
        "kubectl is required to render the overlays (as scripts/check-deploy does)"
    )
    done = subprocess.run(
        [binary, "kustomize", str(directory)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def of_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_templates(docs: list[Doc]) -> dict[str, Doc]:
    """Every workload's pod template, by workload name (Deployments and Jobs)."""
    found: dict[str, Doc] = {}
    for d in docs:
        if d["kind"] in {"Deployment", "Job"}:
            found[d["metadata"]["name"]] = d["spec"]["template"]
    return found


def pod_labels(docs: list[Doc]) -> dict[str, dict[str, str]]:
    """The labels each kind of pod carries, CloudNativePG instances included."""
    labels = {name: dict(t["metadata"]["labels"]) for name, t in pod_templates(docs).items()}
    for name, cluster in of_kind(docs, "Cluster").items():
        inherited = cluster["spec"].get("inheritedMetadata", {}).get("labels", {})
        labels[name] = {
            "cnpg.io/cluster": name,
            "app.kubernetes.io/name": "postgresql",
            **inherited,
        }
    return labels


def _selects(selector: Doc, labels: dict[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _peer_matches(peer: Doc, labels: dict[str, str]) -> bool:
    # Peers are pods of this namespace; a namespaceSelector naming another namespace or
    # an ipBlock (cluster-private ranges excepted) never matches them.
    if "ipBlock" in peer:
        return False
    if peer.get("namespaceSelector"):
        return False
    return _selects(peer.get("podSelector", {}), labels)


def _port_matches(rule: Doc, port: int) -> bool:
    ports = rule.get("ports")
    return not ports or any(p.get("port") in (None, port) for p in ports)


@dataclass(frozen=True)
class Network:
    policies: list[Doc]

    def _direction(self, labels: dict[str, str], kind: str) -> list[Doc]:
        return [
            p
            for p in self.policies
            if kind in p["spec"].get("policyTypes", ["Ingress"])
            and _selects(p["spec"]["podSelector"], labels)
        ]

    def isolated(self, labels: dict[str, str], kind: str) -> bool:
        return bool(self._direction(labels, kind))

    def allows(self, source: dict[str, str], target: dict[str, str], port: int) -> bool:
        ingress = self._direction(target, "Ingress")
        ingress_ok = not ingress or any(
            _port_matches(rule, port)
            and (not rule.get("from") or any(_peer_matches(p, source) for p in rule["from"]))
            for policy in ingress
            for rule in policy["spec"].get("ingress", [])
        )
        egress = self._direction(source, "Egress")
        egress_ok = not egress or any(
            _port_matches(rule, port)
            and (not rule.get("to") or any(_peer_matches(p, target) for p in rule["to"]))
            for policy in egress
            for rule in policy["spec"].get("egress", [])
        )
        return ingress_ok and egress_ok

    def open_to_outside(self, target: dict[str, str], port: int) -> bool:
        """Whether a client outside the namespace (a load balancer) may connect."""
        ingress = self._direction(target, "Ingress")
        return not ingress or any(
            _port_matches(rule, port) and not rule.get("from")
            for policy in ingress
            for rule in policy["spec"].get("ingress", [])
        )
