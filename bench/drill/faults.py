"""What the drill does to the fleet, and when.

The full schedule spreads four faults over the load, at 1/6, 2/6, 3/6 and 4/6 of it
(10, 20, 30 and 40 s of a 60 s run), so each one has settled before the next and the
last has a third of the run to show recovery:
  - SIGKILL a ChatService replica (turns in flight die with it), restart it 2 s later;
  - SIGKILL a TaskService replica, restart it 2 s later;
  - SIGTERM the other ChatService replica (it drains), start it again once it exited;
  - restart PostgreSQL (`pg_ctl restart -m fast`: every connection of every replica dies).
The short schedule (CI) is the first fault alone.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from bench.drill.fleet import Replica
from bench.drill.load import Clock

Kind = Literal["sigkill", "sigterm", "pg-restart"]
_RESTART_AFTER_KILL_SECONDS = 2.0


@dataclass(frozen=True)
class FaultSpec:
    at: float  # seconds into the load
    kind: Kind
    target: str  # a replica name, or "postgresql"

    @property
    def label(self) -> str:
        verb = {"sigkill": "SIGKILL", "sigterm": "SIGTERM", "pg-restart": "restart"}[self.kind]
        return f"{verb} {self.target}"


@dataclass
class Fault:
    spec: FaultSpec
    injected_at: float | None = None  # when the signal was sent / the restart began
    back_at: float | None = None  # when the process or server was serving again
    notes: list[str] = field(default_factory=list)


def full_schedule(duration: float) -> list[FaultSpec]:
    step = duration / 6
    return [
        FaultSpec(step, "sigkill", "chat-1"),
        FaultSpec(2 * step, "sigkill", "tasks-1"),
        FaultSpec(3 * step, "sigterm", "chat-2"),
        FaultSpec(4 * step, "pg-restart", "postgresql"),
    ]


def short_schedule(duration: float) -> list[FaultSpec]:
    return [FaultSpec(0.3 * duration, "sigkill", "chat-1")]


async def _kill_and_restart(replica: Replica, fault: Fault, clock: Clock) -> None:
    replica.signal(signal.SIGKILL)
    status = await replica.wait_exit(5)
    fault.notes.append(f"exit status {status}")
    await asyncio.sleep(_RESTART_AFTER_KILL_SECONDS)
    took = await replica.start()
    fault.back_at = clock.now()
    fault.notes.append(f"restarted, SERVING after {took:.1f} s")


async def _drain_and_restart(replica: Replica, fault: Fault, clock: Clock) -> None:
    injected = clock.now()
    replica.signal(signal.SIGTERM)
    status = await replica.wait_exit()
    fault.notes.append(f"drained and exited ({status}) after {clock.now() - injected:.1f} s")
    if status is None:
        raise RuntimeError(f"{replica.name} did not exit after SIGTERM:\n{replica.log_tail()}")
    took = await replica.start()
    fault.back_at = clock.now()
    fault.notes.append(f"restarted, SERVING after {took:.1f} s")


async def run_faults(
    faults: list[Fault],
    replicas: Mapping[str, Replica],
    restart_database: Callable[[], None] | None,
    clock: Clock,
    say: Callable[[str], None],
    injected: Callable[[float], None],
) -> None:
    """Injects each fault at its time (calling `injected` with it), recording what
    happened into `faults` as it goes (so a fault that fails still leaves the record of
    the ones before it)."""
    for fault in faults:
        await clock.sleep_until(fault.spec.at)
        fault.injected_at = clock.now()
        injected(fault.injected_at)
        say(f"t={fault.injected_at:.1f} s: {fault.spec.label}")
        if fault.spec.kind == "pg-restart":
            if restart_database is None:
                raise RuntimeError("a PostgreSQL restart needs the drill's own cluster")
            await asyncio.to_thread(restart_database)
            fault.back_at = clock.now()
            fault.notes.append(
                f"accepting connections after {fault.back_at - fault.injected_at:.1f} s"
            )
        elif fault.spec.kind == "sigkill":
            await _kill_and_restart(replicas[fault.spec.target], fault, clock)
        else:
            await _drain_and_restart(replicas[fault.spec.target], fault, clock)
        say(f"t={clock.now():.1f} s: {fault.spec.label}: {'; '.join(fault.notes)}")
