"""TaskService RPC handlers: proto in, one use case, proto out. Nothing else."""

from __future__ import annotations

import dataclasses
from typing import Any

from grpc import aio
from todochat.tasks.v1 import tasks_service_pb2 as pb
from todochat.tasks.v1 import tasks_service_pb2_grpc

from services.servicekit.auth import authorize_path_user, current_principal
from services.servicekit.errors import Violations
from services.tasks import convert, usecases
from services.tasks.usecases import TaskDeps

Context = aio.ServicerContext[Any, Any]


def _caller(path_user_id: str) -> str:
    principal = current_principal()
    authorize_path_user(path_user_id, principal)
    return principal.user_id


def _task_id(value: str) -> str:
    errors = Violations()
    task_id = convert.task_id(value, errors)
    errors.raise_if_any()
    return task_id


class TaskServicer(tasks_service_pb2_grpc.TaskServiceServicer):
    def __init__(self, deps: TaskDeps) -> None:
        self._deps = deps

    async def ListTasks(
        self, request: pb.ListTasksRequest, context: Context
    ) -> pb.ListTasksResponse:
        user_id = _caller(request.user_id)
        query, token = convert.task_query(request)
        query = dataclasses.replace(query, offset=usecases.page_offset(query, token))
        page, next_token = await usecases.list_tasks(self._deps, user_id, query)
        if next_token:
            # REST returns a bare array (response_body), so the token also rides in
            # metadata, which the gateway forwards as Grpc-Metadata-Next-Page-Token.
            await context.send_initial_metadata((("next-page-token", next_token),))
        response = pb.ListTasksResponse(next_page_token=next_token, total_size=page.total)
        convert.add_tasks(response.tasks, page.tasks)
        return response

    async def AddTask(self, request: pb.AddTaskRequest, context: Context) -> pb.AddTaskResponse:
        user_id = _caller(request.user_id)
        new, request_id = convert.new_task(request)
        task = await usecases.add_task(self._deps, user_id, new, request_id)
        return pb.AddTaskResponse(task=convert.task_to_proto(task))

    async def GetTask(self, request: pb.GetTaskRequest, context: Context) -> pb.GetTaskResponse:
        user_id = _caller(request.user_id)
        task = await usecases.get_task(self._deps, user_id, _task_id(request.task_id))
        return pb.GetTaskResponse(task=convert.task_to_proto(task))

    async def UpdateTask(
        self, request: pb.UpdateTaskRequest, context: Context
    ) -> pb.UpdateTaskResponse:
        user_id = _caller(request.user_id)
        task_id, changes, request_id = convert.task_changes(request)
        task = await usecases.update_task(self._deps, user_id, task_id, changes, request_id)
        return pb.UpdateTaskResponse(task=convert.task_to_proto(task))

    async def CompleteTask(
        self, request: pb.CompleteTaskRequest, context: Context
    ) -> pb.CompleteTaskResponse:
        user_id = _caller(request.user_id)
        task_id, request_id = convert.task_ref(request.task_id, request.request_id)
        completed = request.completed if request.HasField("completed") else None
        task = await usecases.complete_task(self._deps, user_id, task_id, completed, request_id)
        return pb.CompleteTaskResponse(task=convert.task_to_proto(task))

    async def DeleteTask(
        self, request: pb.DeleteTaskRequest, context: Context
    ) -> pb.DeleteTaskResponse:
        user_id = _caller(request.user_id)
        task_id, request_id = convert.task_ref(request.task_id, request.request_id)
        await usecases.delete_task(self._deps, user_id, task_id, request_id)
        return pb.DeleteTaskResponse()
