"""What `bench.chat_turns` prints: latency, throughput, errors, CPU and SQL per turn."""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass

from bench._chat_load import LoadResult, Plan
from bench._pgstats import Usage

TARGET_SLACK = 0.05  # p95 may exceed the model's floor by 5 %


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far by each process we started (None when not ours)."""

    chat: float
    tasks: float
    fake_llm: float
    client: float
    postgres: dict[int, float] | None
    machine: tuple[float, float]  # busy, total jiffies (all cores)


@dataclass(frozen=True)
class Window:
    plan: Plan
    result: LoadResult
    cpu: tuple[CpuSample, CpuSample]
    sql: Usage | None
    run_sql: Usage | None  # from the first turn to the end of the drain
    model_calls: int
    max_waiting: int


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of a sorted list (0 for no samples)."""
    if not ordered:
        return 0.0
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def _cpu_rows(window: Window, turns: int) -> list[tuple[str, float | None, float | None]]:
    """(what, % of one core, ms per turn) over the measured window."""
    start, end = window.cpu
    seconds = window.plan.window_end - window.plan.window_start
    used = {
        "chat": end.chat - start.chat,
        "tasks": end.tasks - start.tasks,
    }
    used["chat + tasks"] = used["chat"] + used["tasks"]
    used["fake LLM"] = end.fake_llm - start.fake_llm
    used["client"] = end.client - start.client
    if start.postgres is not None and end.postgres is not None:
        # A backend that appeared during the window counts in full.
        used["postgres"] = sum(
            cpu - start.postgres.get(pid, 0.0) for pid, cpu in end.postgres.items()
        )
    cores = os.cpu_count() or 1
    busy = end.machine[0] - start.machine[0]
    total = end.machine[1] - start.machine[1]
    machine = cores * seconds * busy / total if total else 0.0
    ours = sum(v for k, v in used.items() if k != "chat + tasks")
    used["other processes"] = max(0.0, machine - ours)
    rows: list[tuple[str, float | None, float | None]] = []
    for name, cpu in used.items():
        rows.append((name, 100 * cpu / seconds, 1000 * cpu / turns if turns else None))
    rows.append(("whole machine", 100 * machine / seconds, None))
    return rows


def render(window: Window, header: list[str], latency: float) -> tuple[str, bool]:
    """The printed report and whether the target was met."""
    plan, result = window.plan, window.result
    floor = 2 * latency
    sample = window.result.in_window(plan)
    ok = sorted(t.seconds for t in sample if t.error is None)
    completed = result.completed_in_window(plan)
    seconds = plan.window_end - plan.window_start
    errors = [t for t in result.turns if t.error is not None]
    window_errors = [t for t in sample if t.error is not None]
    p50, p95, p99 = (percentile(ok, q) for q in (0.50, 0.95, 0.99))
    lines = [*header, ""]
    lines.append(
        f"turns started in the window {len(sample)} (answered {len(ok)}), "
        f"finished in it {completed}: {completed / seconds:.1f} turns/s"
    )
    lines.append(
        f"errors {len(window_errors)} in the window, {len(errors)} in the whole run "
        f"(warm-up and drain included)"
    )
    if ok:
        lines.append(
            f"latency  p50 {p50:.3f} s  p95 {p95:.3f} s  p99 {p99:.3f} s  max {ok[-1]:.3f} s  "
            f"(above the {floor:.1f} s floor: p50 +{1000 * (p50 - floor):.0f} ms, "
            f"p95 +{1000 * (p95 - floor):.0f} ms)"
        )
    if completed:
        lines.append(
            f"model calls per turn {window.model_calls / completed:.2f}; "
            f"most model calls waiting at once {window.max_waiting}"
        )
    lines += ["", f"{'CPU in the measured window':<28} {'% of a core':>11} {'ms per turn':>12}"]
    for name, pct, per_turn in _cpu_rows(window, completed):
        per = f"{per_turn:12.1f}" if per_turn is not None else f"{'':12}"
        mark = "   <- server CPU per turn" if name == "chat + tasks" else ""
        lines.append(f"  {name:<26} {pct:11.0f} {per}{mark}")
    lines.append("")
    lines += _round_trips(window, completed)
    if completed and abs(len(sample) - completed) > 0.1 * completed:
        lines.append(
            f"NOTE: not a steady state ({len(sample)} turns started in the window, {completed} "
            "finished): the window's per-turn figures are approximate; try a longer "
            "--duration or a quieter machine."
        )
    other = next(pct for name, pct, _ in _cpu_rows(window, completed) if name == "other processes")
    if other is not None and other > 20:
        lines.append(
            f"NOTE: other processes used {other:.0f} % of a core during the window: the machine "
            "was shared, so latency and CPU per turn are worse and noisier than on an idle one."
        )
    errors_total = len(errors)
    met = bool(ok) and p95 <= floor * (1 + TARGET_SLACK) and errors_total == 0
    lines += [
        "",
        f"Target: p95 within 5% of the {floor:.1f} s floor (<= {floor * (1 + TARGET_SLACK):.2f} s), "
        f"zero errors: p95 {p95:.3f} s, {errors_total} errors -> {'MET' if met else 'NOT MET'}",
    ]
    if errors:
        kinds = Counter(t.error for t in errors)
        for text, n in kinds.most_common(5):
            lines.append(f"ERROR x{n}: {text}")
    return "\n".join(lines), met


def _round_trips(window: Window, completed: int) -> list[str]:
    answered = sum(1 for t in window.result.turns if t.error is None)
    if window.sql is None or window.run_sql is None:
        return ["database round trips per turn: n/a (pg_stat_statements unavailable)"]
    if not (completed and answered):
        return []
    lines = [
        "database round trips per turn (pg_stat_statements calls, BEGIN/COMMIT included)",
        f"  {'':<6} {'window':>8} {'whole run':>10} {'transactions':>13}",
    ]
    sums = [0, 0]
    for label in ("chat", "tasks"):
        in_window = window.sql.calls.get(label, 0)
        in_run = window.run_sql.calls.get(label, 0)
        sums[0] += in_window
        sums[1] += in_run
        xacts = window.run_sql.transactions.get(label, 0)
        lines.append(
            f"  {label:<6} {in_window / completed:8.2f} {in_run / answered:10.2f} "
            f"{xacts / answered:13.2f}"
        )
    lines.append(f"  {'total':<6} {sums[0] / completed:8.2f} {sums[1] / answered:10.2f}")
    lines.append(
        f"  window: its statements / the {completed} turns that finished in it; whole run: every "
        f"statement from the first turn to the drain / all {answered} answered turns"
    )
    return lines


def statements(window: Window) -> str:
    """Each statement's executions per answered turn over the whole run (--show-sql)."""
    answered = sum(1 for t in window.result.turns if t.error is None)
    if window.run_sql is None or not answered:
        return ""
    rows = sorted(window.run_sql.statements.items(), key=lambda item: (item[0][0], -item[1]))
    lines = ["per statement, whole run (executions per answered turn):"]
    for (label, query), calls in rows:
        text = " ".join(query.split())
        lines.append(f"  {label:<5} {calls / answered:5.2f}  {text[:150]}")
    return "\n".join(lines)
