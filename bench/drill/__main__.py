"""`python -m bench.drill`: run the fault drill, print the report, exit 1 on FAIL.

Ctrl-C (or SIGTERM) stops the run and every process it started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from bench.drill import DrillConfig, DrillResult, run_drill

# Start-up, slow restarts (each waits at most 30 s for SERVING), the load after the last
# fault, and tear-down, on top of the load and the settle time.
_OVERHEAD_SECONDS = 240.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.drill", description=__doc__)
    parser.add_argument("--duration", type=float, help="seconds of load (60; 10 with --short)")
    parser.add_argument("--short", action="store_true", help="one SIGKILL instead of four faults")
    parser.add_argument("--clients", type=int, default=4, help="concurrent users (4)")
    parser.add_argument(
        "--pause", type=float, default=0.05, help="seconds between a client's turns (0.05)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=30.0,
        help="seconds unanswered turns keep retrying after the load (30)",
    )
    parser.add_argument("--log-level", default="WARNING", help="the services' LOG_LEVEL")
    parser.add_argument("--keep", action="store_true", help="keep the logs even on PASS")
    return parser


async def _main(config: DrillConfig) -> DrillResult:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    limit = config.duration_seconds + config.settle_seconds + _OVERHEAD_SECONDS
    async with asyncio.timeout(limit):
        return await run_drill(config)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    duration = args.duration if args.duration is not None else (10.0 if args.short else 60.0)
    config = DrillConfig(
        duration_seconds=duration,
        short=args.short,
        clients=args.clients,
        pause_seconds=args.pause,
        settle_seconds=args.settle,
        # A server to use instead of a private cluster (short schedule only).
        database_url=os.environ.get("BENCH_DATABASE_URL") or None,
        log_level=args.log_level,
        keep_workdir=args.keep,
    )
    try:
        result = asyncio.run(_main(config))
    except KeyboardInterrupt:
        sys.stderr.write("drill interrupted; every process it started was stopped\n")
        return 130
    print(result.report)
    if result.workdir is not None:
        print(f"logs: {result.workdir}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
