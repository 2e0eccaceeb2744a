"""The drill's figures, its report and the verdict against the targets.

Recovery after a fault is the time from the fault to the first turn answered by an
attempt sent after it: the system answers new requests again. The slowest turn the
fault caught (sent before it, answered after it) is shown beside it: how long a user
caught by the fault waited.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bench.drill.faults import Fault
from bench.drill.load import Turn
from bench.drill.verify import Findings

RECOVERY_TARGET_SECONDS = 5.0


@dataclass(frozen=True)
class Recovery:
    fault: Fault
    next_success: float | None  # seconds after the fault
    caught: int  # turns in flight when it struck
    slowest_caught: float | None  # seconds after the fault; None if one never finished


def recoveries(faults: Sequence[Fault], turns: Sequence[Turn]) -> list[Recovery]:
    found = []
    for fault in faults:
        at = fault.injected_at
        if at is None:
            found.append(Recovery(fault, None, 0, None))
            continue
        after = [a.ended for t in turns for a in t.attempts if a.ok and a.started >= at]
        caught = [
            t
            for t in turns
            if t.attempts
            and t.attempts[0].started < at
            and (t.answered_at is None or t.answered_at > at)
        ]
        slowest: float | None = 0.0
        for turn in caught:
            if turn.answered_at is None:
                slowest = None
                break
            slowest = max(slowest or 0.0, turn.answered_at - at)
        found.append(Recovery(fault, min(after) - at if after else None, len(caught), slowest))
    return found


def longest_gap(turns: Sequence[Turn], start: float, end: float) -> tuple[float, float]:
    """The longest stretch of [start, end] without an answered turn, as (from, to)."""
    points = sorted(
        t.answered_at for t in turns if t.answered_at is not None and start <= t.answered_at <= end
    )
    edges = [start, *points, end]
    return max(itertools.pairwise(edges), key=lambda p: p[1] - p[0])


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def _failed_attempts(turns: Sequence[Turn]) -> str:
    outcomes = Counter(a.outcome for t in turns for a in t.attempts if not a.ok)
    if not outcomes:
        return "none"
    return ", ".join(f"{name} x{n}" for name, n in outcomes.most_common())


def _few(items: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return f" ({shown}{', ...' if len(items) > limit else ''})" if items else ""


def render(
    header: str,
    turns: Sequence[Turn],
    faults: Sequence[Fault],
    findings: Findings,
    load_seconds: float,
) -> tuple[str, bool]:
    """The printed report and whether every target was met."""
    answered = [t for t in turns if t.answered_at is not None]
    failed = [t for t in turns if t.answered_at is None]
    retried = [t for t in turns if len(t.attempts) > 1]
    attempts = sum(len(t.attempts) for t in turns)
    gap_from, gap_to = longest_gap(turns, 0.0, load_seconds)
    lines = [
        header,
        "",
        "faults (recovery: from the fault to the first turn answered by a request sent after it;",
        "in flight: turns sent before the fault and not yet answered when it struck):",
    ]
    recovered = recoveries(faults, turns)
    for r in recovered:
        at = "not injected" if r.fault.injected_at is None else f"t={r.fault.injected_at:5.1f} s"
        lines.append(f"  {at}  {r.fault.spec.label:<20} {'; '.join(r.fault.notes)}")
        lines.append(
            f"  {'':10}  next answered turn after {_seconds(r.next_success)}; "
            f"{r.caught} turn(s) in flight, the slowest answered after "
            f"{_seconds(r.slowest_caught)}"
        )
    lines += [
        "",
        f"turns sent           {len(turns)}",
        f"turns succeeded      {len(answered)}",
        f"turns retried        {len(retried)}  ({attempts} attempts in all)",
        f"turns failed         {len(failed)}{_few([f'{t.title}: {t.error}' for t in failed])}",
        f"failed attempts      {_failed_attempts(turns)}",
        f"tasks created        {findings.created_tasks} (expected {findings.expected_tasks}; "
        f"missing {len(findings.missing_tasks)}{_few(findings.missing_tasks)}, "
        f"unexpected {len(findings.unexpected_tasks)}{_few(findings.unexpected_tasks)})",
        f"duplicate tasks      {findings.duplicate_tasks}",
        f"lost user messages   {len(findings.lost_messages)}{_few(findings.lost_messages)} "
        f"(duplicate user messages {findings.duplicate_messages}; "
        f"assistant answers stored {findings.answers_stored})",
        f"turn records not done for answered turns: {len(findings.turns_not_done)}"
        f"{_few(findings.turns_not_done)}",
        f"longest stretch without a successful turn: {gap_to - gap_from:.2f} s "
        f"(t={gap_from:.2f} s to t={gap_to:.2f} s)",
        "",
    ]
    slow = [
        r for r in recovered if r.next_success is None or r.next_success > RECOVERY_TARGET_SECONDS
    ]
    checks = [
        ("no lost user message", not findings.lost_messages),
        ("no duplicate task", findings.duplicate_tasks == 0 and findings.duplicate_messages == 0),
        (
            "every turn eventually succeeded, with its task",
            not failed and not findings.missing_tasks and not findings.turns_not_done,
        ),
        (
            f"recovery within {RECOVERY_TARGET_SECONDS:g} s of each fault"
            + _few([r.fault.spec.label for r in slow]),
            not slow and all(f.injected_at is not None for f in faults),
        ),
    ]
    for name, ok in checks:
        lines.append(f"{'PASS' if ok else 'FAIL'}  {name}")
    passed = all(ok for _, ok in checks)
    lines.append(f"drill: {'PASS' if passed else 'FAIL'}")
    return "\n".join(lines), passed
