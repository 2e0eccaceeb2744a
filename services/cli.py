"""`todochat`: parse arguments, load settings once, call the right entry point.

Errors an operator can fix (bad configuration, unreachable service) print as one
line on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence

from services.servicekit import logging as servicelog
from services.servicekit.config import ConfigError, Settings

_TTL = re.compile(r"^(\d+)([smhd]?)$")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _ttl_seconds(text: str) -> int:
    match = _TTL.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError("use a duration like 90s, 30m, 1h or 7d")
    seconds = int(match.group(1)) * _TTL_UNITS[match.group(2)]
    if not 1 <= seconds <= 30 * 86400:
        raise argparse.ArgumentTypeError("between 1 second and 30 days")
    return seconds


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="todochat",
        description="todochat: TaskService and ChatService over gRPC, with a REST face.",
        epilog="Configuration comes from environment variables; see README.md.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser(
        "up",
        help="run the whole system locally (migrations, services, gateway)",
        description="Applies migrations, starts every service on the embedded default "
        "(SQLite under ./var/ unless DATABASE_URL is set), waits until all are SERVING "
        "and prints how to reach them. Ctrl-C stops everything.",
    )
    up.add_argument("--envoy", action="store_true", help="also start Envoy in front")
    up.add_argument(
        "--envoy-port", type=int, default=8081, help="Envoy's REST port (default 8081; 0 = free)"
    )

    serve = commands.add_parser("serve", help="run one service in this process (for containers)")
    serve.add_argument("service", choices=["tasks", "chat", "gateway", "mcp"], help="which service")

    migrate = commands.add_parser(
        "migrate",
        help="apply database migrations",
        description="Applies pending migrations (idempotent). Each service has its own "
        "tables and version table, so one Job per service can run with only its own URL.",
    )
    migrate.add_argument(
        "service", nargs="?", choices=["all", "tasks", "chat"], default="all", help="whose tables"
    )

    chat = commands.add_parser(
        "chat",
        help="talk to TodoBot in this terminal (streams answers and tool calls)",
        description="A terminal chat over gRPC. The conversation is kept across runs; "
        "--new starts another. Uses TODOCHAT_TOKEN when set, else signs a token for --user "
        "with the local key.",
    )
    chat.add_argument("--user", default="demo", help="who you are (default: demo)")
    chat.add_argument("--new", action="store_true", help="start a new conversation")

    tasks = commands.add_parser("tasks", help="list your tasks as a table")
    tasks.add_argument("--user", default="demo", help="whose tasks (default: demo)")
    tasks.add_argument(
        "--status", choices=["all", "pending", "completed"], default="all", help="which tasks"
    )

    token = commands.add_parser("token", help="print a signed token for local use")
    token.add_argument("--sub", required=True, help="the user id (token subject)")
    token.add_argument("--ttl", type=_ttl_seconds, default=3600, help="lifetime, e.g. 1h (default)")
    return parser


def _run_serve(service: str, settings: Settings) -> None:
    if service == "tasks":
        from services.tasks import app as tasks_app

        asyncio.run(tasks_app.serve(settings.tasks, settings.jwt))
    elif service == "chat":
        from services.chat import app as chat_app

        asyncio.run(chat_app.serve(settings.chat, settings.jwt))
    elif service == "mcp":
        from services.mcp import app as mcp_app

        asyncio.run(mcp_app.serve(settings.mcp, settings.jwt))
    else:
        from services.gateway import app as gateway_app

        # With the token settings, the gateway also serves the MCP endpoint at /mcp.
        asyncio.run(gateway_app.serve(settings.gateway, settings.jwt))


def _run_terminal(args: argparse.Namespace, settings: Settings) -> int:
    from services.terminal import chat, session, tasks

    user_session = session.open_session(settings, args.user, settings.client_token)
    if args.command == "chat":
        status: int = asyncio.run(
            chat.run(settings.gateway.chat_target, user_session, new=args.new)
        )
    else:
        status = asyncio.run(
            tasks.run(settings.gateway.tasks_target, user_session, status=args.status)
        )
    return status


async def migrate_all(settings: Settings, only: str = "all") -> None:
    """Applies every service's migrations (idempotent), or just `only`'s."""
    from services.tasks import app as tasks_app

    if only in ("all", "tasks"):
        await tasks_app.migrate(settings.tasks)
    if only == "tasks":
        return
    from services.chat import app as chat_app

    await chat_app.migrate(settings.chat)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(create_dev_secret=args.command != "migrate")
    except ConfigError as exc:
        print(f"todochat: {exc}", file=sys.stderr)
        return 2
    # `up` talks to a person on a terminal; services log JSON for machines by default.
    servicelog.configure(
        settings.log_level, "text" if args.command == "up" else settings.log_format
    )
    try:
        if args.command == "token":
            from services.servicekit.auth import issue_token

            print(issue_token(settings.jwt, args.sub, args.ttl))
        elif args.command == "migrate":
            asyncio.run(migrate_all(settings, args.service))
            print("migrations applied", file=sys.stderr)
        elif args.command == "serve":
            _run_serve(args.service, settings)
        elif args.command in ("chat", "tasks"):
            return _run_terminal(args, settings)
        elif args.command == "up":
            from services import launcher

            status: int = asyncio.run(
                launcher.up(settings, with_envoy=args.envoy, envoy_port=args.envoy_port)
            )
            return status
    except KeyboardInterrupt:
        return 130
    except (ValueError, OSError) as exc:
        print(f"todochat: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
