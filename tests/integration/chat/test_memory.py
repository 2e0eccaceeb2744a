"""What the model is given: the system prompt, the last N messages in order, this turn's
context; and that any replica can serve any turn of a conversation."""

from __future__ import annotations

from todochat.chat.v1 import chat_service_pb2 as pb
from todochat.tasks.v1 import tasks_service_pb2 as tasks_pb

from services.chat.agent.prompt import DEFAULT_SYSTEM_PROMPT
from services.chat.agent.tools import task_tools
from tests.integration.chat.conftest import ChatEnv, RunningChat
from tests.integration.chat.scripted import ScriptedProvider


def _history(provider: ScriptedProvider, turn: int) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in provider.sessions[turn].turn.history]


async def test_model_gets_the_system_prompt_and_exactly_the_last_20_messages(
    chat_env: ChatEnv, chat: RunningChat, user_id: str
) -> None:
    md = chat_env.md(user_id)
    conversation_id = ""
    for i in range(30):
        answer = await chat.chat(f"message {i}", md, conversation_id=conversation_id)
        conversation_id = answer.conversation_id

    sessions = chat.provider.sessions
    assert len(sessions) == 30
    last = sessions[29].turn
    assert last.system_prompt.startswith(DEFAULT_SYSTEM_PROMPT)
    assert "Today is" in last.system_prompt
    assert [t.name for t in last.tools] == [t.name for t in task_tools()]
    expected = [("assistant", "echo: message 19")]
    for i in range(20, 29):
        expected += [("user", f"message {i}"), ("assistant", f"echo: message {i}")]
    expected.append(("user", "message 29"))
    assert _history(chat.provider, 29) == expected
    assert len(expected) == 20
    # Before the window fills up, the model sees everything so far.
    assert _history(chat.provider, 2) == [
        ("user", "message 0"),
        ("assistant", "echo: message 0"),
        ("user", "message 1"),
        ("assistant", "echo: message 1"),
        ("user", "message 2"),
    ]


async def test_history_limit_and_system_prompt_come_from_settings(
    chat_env: ChatEnv, user_id: str
) -> None:
    chat = await chat_env.start_chat(history_limit=3, system_prompt="You are TestBot.")
    md = chat_env.md(user_id)
    first = await chat.chat("one", md)
    await chat.chat("two", md, conversation_id=first.conversation_id)
    await chat.chat("three", md, conversation_id=first.conversation_id)
    turn = chat.provider.sessions[2].turn
    assert turn.system_prompt.startswith("You are TestBot.")
    assert "TodoBot" not in turn.system_prompt
    assert [m.content for m in turn.history] == ["two", "echo: two", "three"]


async def test_context_reaches_the_model_for_that_turn_only(
    chat_env: ChatEnv, chat: RunningChat, user_id: str
) -> None:
    md = chat_env.md(user_id)
    first = await chat.chat("what is this?", md, context="Buy milk and eggs")
    await chat.chat("and now?", md, conversation_id=first.conversation_id)
    assert chat.provider.sessions[0].turn.context == "Buy milk and eggs"
    assert chat.provider.sessions[1].turn.context is None
    stored = await chat.stub.ListMessages(
        pb.ListMessagesRequest(conversation_id=first.conversation_id), metadata=md
    )
    assert all("milk" not in m.content for m in stored.messages), "context is not stored"


async def test_two_replicas_answer_alternate_turns_of_one_conversation(
    chat_env: ChatEnv, user_id: str
) -> None:
    replicas = [await chat_env.start_chat(), await chat_env.start_chat()]
    md = chat_env.md(user_id)
    conversation_id = ""
    contents = ["add buy milk", "hello", "add call mom", "list"]
    answers = []
    for turn, content in enumerate(contents):
        replica = replicas[turn % 2]
        answer = await replica.chat(content, md, conversation_id=conversation_id)
        conversation_id = answer.conversation_id
        answers.append(answer.content)

    assert answers == [
        'Added "buy milk".',
        "echo: hello",
        'Added "call mom".',
        "call mom, buy milk",
    ]
    a, b = (r.provider for r in replicas)
    assert len(a.sessions) == len(b.sessions) == 2
    # Each replica saw the turns the other one answered: nothing lived in process memory.
    assert _history(b, 1) == [
        ("user", "add buy milk"),
        ("assistant", 'Added "buy milk".'),
        ("user", "hello"),
        ("assistant", "echo: hello"),
        ("user", "add call mom"),
        ("assistant", 'Added "call mom".'),
        ("user", "list"),
    ]
    for replica in replicas:
        got = await replica.stub.GetConversation(
            pb.GetConversationRequest(conversation_id=conversation_id), metadata=md
        )
        assert [m.content for m in got.messages][::2] == contents
        assert got.message_count == 8
    listed = await chat_env.tasks_stub.ListTasks(tasks_pb.ListTasksRequest(), metadata=md)
    assert sorted(t.title for t in listed.tasks) == ["buy milk", "call mom"]
