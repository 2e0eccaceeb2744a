"""The fault drill, short: 10 s of chat turns through Envoy to two ChatService and two
TaskService processes, one ChatService replica SIGKILLed a third of the way in and
restarted. Everything the full drill checks must hold (bench/drill, bench/README.md)."""

from __future__ import annotations

import pytest

from bench.drill import DrillConfig, run_drill
from bench.drill.report import RECOVERY_TARGET_SECONDS, recoveries

pytestmark = [pytest.mark.postgres, pytest.mark.envoy]


async def test_one_sigkill_loses_nothing_duplicates_nothing_and_recovers_in_time(
    postgres_server_url: str,
) -> None:
    result = await run_drill(
        DrillConfig(duration_seconds=10, short=True, database_url=postgres_server_url)
    )
    report = f"\n{result.report}\nlogs: {result.workdir}"
    findings = result.findings
    assert findings is not None, report

    [kill] = result.faults
    assert (kill.spec.kind, kill.injected_at is not None) == ("sigkill", True), report
    assert kill.back_at is not None, f"the killed replica came back{report}"
    assert len(result.turns) > 20, f"the load ran{report}"
    assert findings.lost_messages == [], report
    assert (findings.duplicate_tasks, findings.duplicate_messages) == (0, 0), report
    assert [t.title for t in result.turns if t.answered_at is None] == [], report
    assert (findings.missing_tasks, findings.turns_not_done) == ([], []), report
    assert findings.created_tasks == findings.expected_tasks == len(result.turns), report
    [recovery] = recoveries(result.faults, result.turns)
    assert recovery.next_success is not None, report
    assert recovery.next_success <= RECOVERY_TARGET_SECONDS, report
    assert result.passed, report
