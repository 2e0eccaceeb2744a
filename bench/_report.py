"""The printed result: service and raw side by side, then where the CPU went."""

from __future__ import annotations

from typing import Any

TARGET_OP, TARGET_CONCURRENCY, TARGET_RATIO = "GetTask", 16, 0.5

Results = dict[tuple[str, int, str], dict[str, Any]]


def _side(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return f"{'-':>9} {'-':>7} {'-':>7} {'-':>4}"
    return f"{cell['rps']:>9.0f} {cell['p50_ms']:>7.2f} {cell['p99_ms']:>7.2f} {cell['errors']:>4}"


def _ratio(results: Results, op: str, n: int) -> float | None:
    service, raw = results.get((op, n, "service")), results.get((op, n, "raw"))
    if service is None or raw is None or not raw["rps"]:
        return None
    return float(service["rps"]) / float(raw["rps"])


def _pct(value: float | None) -> str:
    return f"{value:>6.0f}" if value is not None else f"{'n/a':>6}"


def table(results: Results, ops: list[str], concurrencies: list[int]) -> str:
    head = f"{'':>9}{'':>6} | {'service (gRPC)':^30} | {'raw asyncpg':^30} |"
    cols = f"{'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'err':>4}"
    lines = [head, f"{'operation':<9}{'conc':>6} | {cols} | {cols} | svc/raw"]
    lines.append("-" * len(lines[1]))
    for op in ops:
        for n in concurrencies:
            ratio = _ratio(results, op, n)
            lines.append(
                f"{op:<9}{n:>6} | {_side(results.get((op, n, 'service')))} | "
                f"{_side(results.get((op, n, 'raw')))} | "
                + (f"{ratio:>7.2f}" if ratio is not None else f"{'-':>7}")
            )
    return "\n".join(lines)


def _other(cpu: dict[str, float | None]) -> float | None:
    """Machine CPU not accounted to this cell's processes: anything else running."""
    if cpu.get("machine") is None:
        return None
    mine = sum(v for k, v in cpu.items() if k != "machine" and v is not None)
    return max(0.0, float(cpu["machine"] or 0.0) - mine)


def _per_request(cell: dict[str, Any], key: str) -> str:
    value = cell.get("cpu", {}).get(key)
    if value is None or not cell.get("rps"):
        return f"{'n/a':>7}"
    return f"{value * 10_000 / cell['rps']:>7.0f}"  # % of a core over req/s -> us per request


def cpu_table(results: Results, ops: list[str], concurrencies: list[int]) -> str:
    """Where the CPU went: % of one core per process during the window (all cores busy =
    100 x cores; `other` is whatever else ran on the machine), and CPU us per request."""
    lines = [
        "CPU in each measured window: % of one core, and CPU us per request",
        f"{'':>15} | {'service side':^53} | {'raw side':^36}",
        f"{'operation':<9}{'conc':>6} | {'client':>6} {'server':>6} {'pg':>6} {'other':>6} "
        f"{'cli/req':>7} {'srv/req':>7} {'pg/req':>7} | {'client':>6} {'pg':>6} {'other':>6} "
        f"{'cli/req':>7} {'pg/req':>7}",
    ]
    for op in ops:
        for n in concurrencies:
            service = results.get((op, n, "service"), {})
            raw = results.get((op, n, "raw"), {})
            s_cpu, r_cpu = service.get("cpu", {}), raw.get("cpu", {})
            lines.append(
                f"{op:<9}{n:>6} | {_pct(s_cpu.get('client'))} {_pct(s_cpu.get('server'))} "
                f"{_pct(s_cpu.get('postgres'))} {_pct(_other(s_cpu))} "
                f"{_per_request(service, 'client')} {_per_request(service, 'server')} "
                f"{_per_request(service, 'postgres')} | "
                f"{_pct(r_cpu.get('client'))} {_pct(r_cpu.get('postgres'))} {_pct(_other(r_cpu))} "
                f"{_per_request(raw, 'client')} {_per_request(raw, 'postgres')}"
            )
    return "\n".join(lines)


def target(results: Results) -> tuple[str, bool | None]:
    """The target line, and whether it is met (None when the cell did not run)."""
    ratio = _ratio(results, TARGET_OP, TARGET_CONCURRENCY)
    goal = (
        f"Target: {TARGET_OP} throughput at concurrency {TARGET_CONCURRENCY} "
        f">= {TARGET_RATIO} x raw"
    )
    if ratio is None:
        return f"{goal}: not measured in this run", None
    service = results[(TARGET_OP, TARGET_CONCURRENCY, "service")]["rps"]
    raw = results[(TARGET_OP, TARGET_CONCURRENCY, "raw")]["rps"]
    met = ratio >= TARGET_RATIO
    verdict = "MET" if met else "NOT MET"
    return f"{goal}: {service:.0f} vs {raw:.0f} req/s, ratio {ratio:.2f} -> {verdict}", met


def errors(results: Results) -> list[str]:
    return [
        f"{op} @{n} {side}: {cell['errors']} errors, first: {cell['first_error']}"
        for (op, n, side), cell in results.items()
        if cell["errors"]
    ]


def interference(results: Results) -> str | None:
    """A warning when other processes took a noticeable share of the machine."""
    others = [o for cell in results.values() if (o := _other(cell.get("cpu", {}))) is not None]
    if not others:
        return None
    mean = sum(others) / len(others)
    if mean < 20:
        return None
    return (
        f"NOTE: other processes used {mean:.0f}% of a core on average during the measured "
        "windows (column `other`): the machine was shared, so every figure is lower and "
        "noisier than on an idle machine."
    )
