"""`python -m services.gateway.envoy`: render the Envoy config.

kubernetes [--out DIR] [--check]   envoy.yaml + todochat.binpb for the ConfigMap
local --tasks-port N --chat-port N --listen-port N --admin-port N   YAML on stdout
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.gateway.envoy import (
    DEFAULT_CORS_ORIGINS,
    REPO_ROOT,
    envoy_descriptor_set,
    render_kubernetes,
    render_local,
)

DEPLOY_DIR = REPO_ROOT / "deploy" / "envoy"


def _kubernetes(out: Path, check: bool) -> int:
    wanted = {
        out / "envoy.yaml": render_kubernetes().encode("utf-8"),
        out / "todochat.binpb": envoy_descriptor_set(),
    }
    if check:
        stale = [p for p, data in wanted.items() if not p.is_file() or p.read_bytes() != data]
        for path in stale:
            sys.stderr.write(f"{path} is stale: run python -m services.gateway.envoy kubernetes\n")
        return 1 if stale else 0
    out.mkdir(parents=True, exist_ok=True)
    for path, data in wanted.items():
        path.write_bytes(data)
        sys.stdout.write(f"wrote {path}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.gateway.envoy")
    commands = parser.add_subparsers(dest="command", required=True)
    k8s = commands.add_parser("kubernetes", help="the config and descriptor kustomize mounts")
    k8s.add_argument("--out", type=Path, default=DEPLOY_DIR)
    k8s.add_argument("--check", action="store_true", help="fail if the files differ")
    local = commands.add_parser("local", help="a config for 127.0.0.1, on stdout")
    for name in ("tasks-port", "chat-port", "listen-port", "admin-port"):
        local.add_argument(f"--{name}", type=int, required=True)
    local.add_argument(
        "--cors-origin", action="append", help=f"default {', '.join(DEFAULT_CORS_ORIGINS)}"
    )
    args = parser.parse_args(argv)
    if args.command == "kubernetes":
        return _kubernetes(args.out, args.check)
    sys.stdout.write(
        render_local(
            args.tasks_port,
            args.chat_port,
            args.listen_port,
            args.admin_port,
            cors_origins=tuple(args.cors_origin or DEFAULT_CORS_ORIGINS),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
