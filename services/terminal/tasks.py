"""`todochat tasks`: the user's tasks as a table."""

from __future__ import annotations

import sys

import grpc
from todochat.tasks.v1 import resources_pb2, tasks_service_pb2_grpc
from todochat.tasks.v1 import tasks_service_pb2 as pb

from services.terminal.chat import describe_error
from services.terminal.session import TerminalSession

_PRIORITY = {
    resources_pb2.PRIORITY_LOW: "low",
    resources_pb2.PRIORITY_MEDIUM: "medium",
    resources_pb2.PRIORITY_HIGH: "high",
}


def _row(index: int, task: resources_pb2.Task) -> list[str]:
    due = task.due_time.ToDatetime().strftime("%Y-%m-%d %H:%M") if task.HasField("due_time") else ""
    return [
        str(index),
        "✓" if task.completed else " ",
        task.title,
        _PRIORITY.get(task.priority, ""),
        due,
        ", ".join(task.tags),
        task.id[:8],
    ]


def render(tasks: list[resources_pb2.Task]) -> str:
    if not tasks:
        return 'No tasks yet. Add one with `todochat chat` ("add buy milk").'
    header = ["#", "done", "title", "priority", "due", "tags", "id"]
    rows = [header] + [_row(i, t) for i, t in enumerate(tasks, 1)]
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[c]) for c, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


async def run(target: str, session: TerminalSession, *, status: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = tasks_service_pb2_grpc.TaskServiceStub(channel)
        tasks: list[resources_pb2.Task] = []
        token = ""
        try:
            while True:
                page = await stub.ListTasks(
                    pb.ListTasksRequest(
                        status=status, page_token=token, sort="created_at", page_size=500
                    ),
                    metadata=session.metadata(),
                    timeout=10,
                )
                tasks.extend(page.tasks)
                token = page.next_page_token
                if not token:
                    break
        except grpc.aio.AioRpcError as error:
            print(f"todochat: {describe_error(error)}", file=sys.stderr)
            return 2
    print(render(tasks))
    return 0
