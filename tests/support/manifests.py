"""Finding objects in a rendered chart."""

from __future__ import annotations


def one(docs: list[dict], kind: str, name_suffix: str = "") -> dict:
    """The only object of ``kind`` (whose name ends with ``name_suffix``, if given)."""
    found = [doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, f"expected one {kind} named *{name_suffix}, found {len(found)}"
    return found[0]


def env_configmap(docs: list[dict]) -> dict:
    return one(docs, "ConfigMap", "-env")


def dashboard_configmap(docs: list[dict]) -> dict:
    return one(docs, "ConfigMap", "-dashboard")


def app_container(docs: list[dict]) -> dict:
    return one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
