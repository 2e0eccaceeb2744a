"""The printed result of bench.gateway_load: the three faces side by side, the ratios,
where the CPU went, and the two targets."""

from __future__ import annotations

from typing import Any

GRPC, GATEWAY, ENVOY = "direct gRPC", "REST via gateway", "REST via Envoy"
FACES = (GRPC, GATEWAY, ENVOY)
TARGET_CONCURRENCIES = (16, 64)
MAX_ADDED_P50_MS = 2.0
MIN_SHARE_OF_ENVOY = 0.5

Results = dict[tuple[str, int], dict[str, Any]]


def _side(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return f"{'-':>7} {'-':>7} {'-':>7} {'-':>4}"
    return f"{cell['rps']:>7.0f} {cell['p50_ms']:>7.2f} {cell['p99_ms']:>7.2f} {cell['errors']:>4}"


def added_p50(results: Results, n: int) -> float | None:
    """Gateway p50 minus direct gRPC p50, in ms."""
    grpc, gateway = results.get((GRPC, n)), results.get((GATEWAY, n))
    if grpc is None or gateway is None:
        return None
    return float(gateway["p50_ms"]) - float(grpc["p50_ms"])


def share_of_envoy(results: Results, n: int) -> float | None:
    """Gateway throughput divided by Envoy's."""
    gateway, envoy = results.get((GATEWAY, n)), results.get((ENVOY, n))
    if gateway is None or envoy is None or not envoy["rps"]:
        return None
    return float(gateway["rps"]) / float(envoy["rps"])


def table(results: Results, concurrencies: list[int]) -> str:
    cols = f"{'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'err':>4}"
    width = len(cols)
    head = f"{'':>4} | " + " | ".join(f"{face:^{width}}" for face in FACES)
    head += f" | {'gateway vs':^17}"
    lines = [head, f"conc | {cols} | {cols} | {cols} | {'+p50 ms':>8} {'/Envoy':>8}"]
    lines.append("-" * len(lines[1]))
    for n in concurrencies:
        added, share = added_p50(results, n), share_of_envoy(results, n)
        lines.append(
            f"{n:>4} | "
            + " | ".join(_side(results.get((face, n))) for face in FACES)
            + " | "
            + (f"{added:>+8.2f}" if added is not None else f"{'-':>8}")
            + " "
            + (f"{share:>8.2f}" if share is not None else f"{'-':>8}")
        )
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return f"{value:>6.0f}" if value is not None else f"{'-':>6}"


def _per_request(cell: dict[str, Any], key: str) -> str:
    value = cell["cpu"].get(key)
    if value is None or not cell["rps"]:
        return f"{'-':>7}"
    return f"{value * 10_000 / cell['rps']:>7.0f}"  # % of a core over req/s -> us per request


def other(cpu: dict[str, float | None]) -> float | None:
    """Machine CPU not used by this cell's processes: whatever else ran meanwhile."""
    if cpu.get("machine") is None:
        return None
    mine = sum(v for k, v in cpu.items() if k != "machine" and v is not None)
    return max(0.0, float(cpu["machine"] or 0.0) - mine)


def cpu_table(results: Results, concurrencies: list[int]) -> str:
    lines = [
        "CPU in each measured window: % of one core, and CPU us per request",
        f"{'face':<16} {'conc':>4} | {'client':>6} {'proxy':>6} {'tasks':>6} {'pg':>6} "
        f"{'other':>6} | {'cli/req':>7} {'prx/req':>7} {'tsk/req':>7} {'pg/req':>7}",
    ]
    for n in concurrencies:
        for face in FACES:
            cell = results.get((face, n))
            if cell is None:
                continue
            cpu = cell["cpu"]
            lines.append(
                f"{face:<16} {n:>4} | {_pct(cpu['client'])} {_pct(cpu['proxy'])} "
                f"{_pct(cpu['tasks'])} {_pct(cpu['postgres'])} {_pct(other(cpu))} | "
                f"{_per_request(cell, 'client')} {_per_request(cell, 'proxy')} "
                f"{_per_request(cell, 'tasks')} {_per_request(cell, 'postgres')}"
            )
    return "\n".join(lines)


def targets(results: Results) -> tuple[list[str], bool | None]:
    """The two target lines, and whether both are met at every target concurrency
    measured (None when none was)."""
    latency, throughput, verdicts = [], [], []
    for n in TARGET_CONCURRENCIES:
        added, share = added_p50(results, n), share_of_envoy(results, n)
        if added is not None:
            verdicts.append(added <= MAX_ADDED_P50_MS)
            latency.append(f"@{n} {added:+.2f} ms {'MET' if verdicts[-1] else 'NOT MET'}")
        if share is not None:
            verdicts.append(share >= MIN_SHARE_OF_ENVOY)
            gateway, envoy = results[(GATEWAY, n)]["rps"], results[(ENVOY, n)]["rps"]
            throughput.append(
                f"@{n} {gateway:.0f} vs {envoy:.0f} req/s = {share:.2f} "
                f"{'MET' if verdicts[-1] else 'NOT MET'}"
            )
    lines = [
        f"Target: gateway p50 - direct gRPC p50 <= {MAX_ADDED_P50_MS:g} ms: "
        + ("; ".join(latency) or "not measured"),
        f"Target: gateway throughput >= {MIN_SHARE_OF_ENVOY:g} x Envoy's: "
        + ("; ".join(throughput) or "not measured"),
    ]
    return lines, (all(verdicts) if verdicts else None)


def errors(results: Results) -> list[str]:
    return [
        f"{face} @{n}: {cell['errors']} errors, first: {cell['first_error']}"
        for (face, n), cell in results.items()
        if cell["errors"]
    ]


def interference(results: Results) -> str | None:
    """A warning when other processes took a noticeable share of the machine."""
    others = [o for cell in results.values() if (o := other(cell["cpu"])) is not None]
    if not others or sum(others) / len(others) < 20:
        return None
    return (
        f"NOTE: other processes used {sum(others) / len(others):.0f}% of a core on average "
        "during the measured windows (column `other`): the machine was shared, so every "
        "figure is lower and noisier than on an idle machine."
    )
