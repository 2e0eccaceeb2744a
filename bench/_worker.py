"""One benchmark cell in its own process: `python -m bench._worker CONFIG SIDE OP N`.

SIDE is `service` (grpc.aio client against TaskService) or `raw` (asyncpg pool running
the captured SQL). Both sides run the same closed loop (bench/_load.py) in a fresh
process of their own, so neither shares a core's event loop with the orchestrator.
Prints one JSON object: the cell's summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import grpc
from todochat.tasks.v1 import resources_pb2, tasks_service_pb2_grpc
from todochat.tasks.v1 import tasks_service_pb2 as pb

from bench import _sql, _workload
from bench._cpu import CpuWatch
from bench._load import Call, CallFactory, run_cell
from bench._pg import plain_dsn


class WrongAnswer(Exception):
    """A call returned, but not what the benchmark expects: counted as an error."""


def _service_calls(
    config: dict[str, Any], op: str, channels: list[grpc.aio.Channel]
) -> CallFactory:
    stubs = [tasks_service_pb2_grpc.TaskServiceStub(c) for c in channels]
    reader = (("authorization", f"Bearer {config['reader_token']}"),)
    writer = (("authorization", f"Bearer {config['writer_token']}"),)
    task_id = config["task_id"]

    def call_for(i: int) -> Call:
        stub = stubs[i % len(stubs)]
        if op == "GetTask":
            get = pb.GetTaskRequest(task_id=task_id)

            async def get_task() -> None:
                if (await stub.GetTask(get, metadata=reader)).task.id != task_id:
                    raise WrongAnswer("GetTask returned another task")

            return get_task
        if op == "ListTasks":
            page = pb.ListTasksRequest(page_size=_workload.PAGE_SIZE)

            async def list_tasks() -> None:
                if len((await stub.ListTasks(page, metadata=reader)).tasks) != _workload.PAGE_SIZE:
                    raise WrongAnswer("ListTasks returned a short page")

            return list_tasks
        add = pb.AddTaskRequest(
            title=_workload.ADD_TITLE,
            description=_workload.ADD_DESCRIPTION,
            priority=resources_pb2.Priority.ValueType(int(_workload.ADD_PRIORITY)),
            tags=list(_workload.ADD_TAGS),
        )

        async def add_task() -> None:
            if not (await stub.AddTask(add, metadata=writer)).task.id:
                raise WrongAnswer("AddTask returned no id")

        return add_task

    return call_for


async def _no_reset(_connection: asyncpg.Connection) -> None:
    """asyncpg's pool sends a reset query on every release; SQLAlchemy's pool does not
    (its reset is a rollback, free outside a transaction), so neither does the raw loop."""


def _raw_calls(statement: _sql.Statement, op: str, pool: asyncpg.Pool) -> CallFactory:
    sql, params = statement.sql, statement.params
    if op == "GetTask":

        async def get_task() -> None:
            async with pool.acquire() as conn:
                if len(await conn.fetch(sql, *params)) != 1:
                    raise WrongAnswer("GetTask SQL returned no row")

        return lambda _i: get_task
    if op == "ListTasks":

        async def list_tasks() -> None:
            async with pool.acquire() as conn:
                if len(await conn.fetch(sql, *params)) != _workload.PAGE_SIZE:
                    raise WrongAnswer("ListTasks SQL returned a short page")

        return lambda _i: list_tasks
    id_at = statement.position("id")
    stamps = (statement.position("created_at"), statement.position("updated_at"))

    async def add_task() -> None:
        # Like the service: a fresh id and clock per call, one transaction per insert.
        values = list(params)
        values[id_at] = str(uuid.uuid4())
        now = datetime.now(UTC)
        for at in stamps:
            values[at] = now
        # The service's session sends exactly this BEGIN (seen in PostgreSQL's log).
        async with pool.acquire() as conn, conn.transaction(isolation="read_committed"):
            await conn.execute(sql, *values)

    return lambda _i: add_task


async def _run(config: dict[str, Any], side: str, op: str, concurrency: int) -> dict[str, Any]:
    warmup, duration = float(config["warmup"]), float(config["duration"])
    if side == "service":
        options = [("grpc.use_local_subchannel_pool", 1)]
        channels = [
            grpc.aio.insecure_channel(config["target"], options=options)
            for _ in range(int(config["channels"]))
        ]
        try:
            for channel in channels:
                await asyncio.wait_for(channel.channel_ready(), 10)
            watch = CpuWatch(config["server_pid"], config["postmaster_pid"])
            result = await run_cell(
                _service_calls(config, op, channels),
                concurrency=concurrency,
                warmup=warmup,
                duration=duration,
                watch=watch,
            )
        finally:
            for channel in channels:
                await channel.close()
    else:
        statement = (await _sql.capture(config["db_url"], config["task_id"]))[op]
        pool = await asyncpg.create_pool(
            plain_dsn(config["db_url"]),
            min_size=1,
            max_size=int(config["pool_size"]),
            reset=_no_reset,
        )
        try:
            result = await run_cell(
                _raw_calls(statement, op, pool),
                concurrency=concurrency,
                warmup=warmup,
                duration=duration,
                watch=CpuWatch(None, config["postmaster_pid"]),
            )
        finally:
            await pool.close()
    return result.summary()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._worker")
    parser.add_argument("config", type=Path)
    parser.add_argument("side", choices=["service", "raw"])
    parser.add_argument("op", choices=_workload.OPERATIONS)
    parser.add_argument("concurrency", type=int)
    args = parser.parse_args()
    config = json.loads(args.config.read_text())
    print(json.dumps(asyncio.run(_run(config, args.side, args.op, args.concurrency))))


if __name__ == "__main__":
    main()
