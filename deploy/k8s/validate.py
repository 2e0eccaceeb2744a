"""Strict validation of rendered manifests, failing on every kind it cannot check.

`kubernetes-validate` only warns (and passes) when it has no schema for a kind, so a typo
in `apiVersion` or `kind` would slip through. Here every document must either be a
built-in kind, validated strictly against the Kubernetes schemas of each version we
support, or a custom resource whose CRD schema is vendored under schemas/ (named
`<group>_<version>_<Kind>.json`), validated strictly too: unknown fields are errors, as
the API server's strict field validation would make them.

    python deploy/k8s/validate.py -k 1.30.0 -k 1.37.0 rendered.yaml...
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

SCHEMAS = Path(__file__).resolve().parent / "schemas"


def _strict(schema: Any) -> Any:
    """The CRD schema with unknown fields refused wherever the CRD does not allow them."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    group, _, version = api_version.rpartition("/")
    path = SCHEMAS / f"{group}_{version}_{kind}.json"
    if not group or not path.is_file():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return _strict(loaded)


def problems(document: dict[str, Any], versions: list[str]) -> Iterator[str]:
    api_version, kind = document.get("apiVersion", ""), document.get("kind", "")
    schema = crd_schema(api_version, kind)
    if schema is not None:
        validator = jsonschema.Draft7Validator(schema)
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path)):
            where = "/".join(str(p) for p in error.path) or "(root)"
            yield f"{where}: {error.message}"
        return
    for version in versions:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            yield (
                f"no schema for {kind} {api_version} in Kubernetes {version}: a typo, or a "
                f"custom resource whose CRD schema is not vendored in {SCHEMAS}"
            )
            return
        except kubernetes_validate.ValidationError as error:
            where = "/".join(str(p) for p in error.path) or "(root)"
            yield f"Kubernetes {version}: {where}: {error.message}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", "--kubernetes-version", action="append", required=True)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    failed = 0
    checked = 0
    for path in args.files:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not document:
                continue
            checked += 1
            name = f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"
            for problem in problems(document, args.kubernetes_version):
                failed += 1
                sys.stderr.write(f"{path}: {name}: {problem}\n")
    if checked == 0:
        sys.stderr.write("no manifests to validate\n")
        return 1
    versions = ", ".join(args.kubernetes_version)
    if failed:
        sys.stderr.write(f"{failed} problems in {checked} manifests (Kubernetes {versions})\n")
        return 1
    sys.stdout.write(f"{checked} manifests valid (Kubernetes {versions}, strict)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
