"""The offline agent: everyday phrasings → the tool calls it makes, and what it answers.

Each case drives a whole turn through the provider interface, answering tool calls from
an in-memory TaskBook, so ids in the expected calls prove the agent looked tasks up
first and used the ids from the results.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.chat.llm.base import HistoryMessage, ToolOutcome, TurnInput
from services.chat.llm.offline import OfflineProvider
from tests.fakes.task_results import TaskBook, drive, task

NOW = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)  # a Wednesday
LIST_ALL = ("list_tasks", {"status": "all", "sort": "created_at", "page_size": 100})
LIST_OPEN = ("list_tasks", {"status": "pending", "sort": "created_at", "page_size": 100})
LIST_DONE = ("list_tasks", {"status": "completed", "sort": "created_at", "page_size": 100})
OPEN_LIST_TEXT = (
    "You have 4 open tasks:\n"
    "1. Buy milk\n"
    "2. Call mom\n"
    "3. Pay rent — high priority, due Fri 13 Mar, #home\n"
    "4. Renew passport — #admin"
)


def _book() -> TaskBook:
    return TaskBook(
        [
            task("t-1", "Buy milk"),
            task("t-2", "Call mom"),
            task(
                "t-3",
                "Pay rent",
                priority="PRIORITY_HIGH",
                due_time="2026-03-13T17:00:00Z",
                tags=["home"],
            ),
            task("t-4", "Oat milk", completed=True),
            task("t-5", "Renew passport", tags=["admin"]),
        ]
    )


def _provider() -> OfflineProvider:
    return OfflineProvider(clock=lambda: NOW)


async def _say(
    book: TaskBook, history: list[HistoryMessage], message: str, context: str | None = None
) -> str:
    """Plays one turn: the message, the agent's tool calls against `book`, its answer."""
    history.append(HistoryMessage("user", message))
    answer = await drive(_provider(), book, history, context=context)
    history.append(HistoryMessage("assistant", answer))
    return answer


def _add(title: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    return ("add_task", {"title": title, **extra})


def _done(task_id: str, completed: bool = True) -> tuple[str, dict[str, Any]]:
    return ("complete_task", {"task_id": task_id, "completed": completed})


def _delete(task_id: str) -> tuple[str, dict[str, Any]]:
    return ("delete_task", {"task_id": task_id})


def _update(task_id: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return ("update_task", {"task_id": task_id, **fields})


P = pytest.param
CASES = [
    # adding: one or several tasks, with due dates, priorities and tags
    P("add buy bread", None, [_add("Buy bread")], id="add"),
    P("add buy bread and call the bank", None,
      [_add("Buy bread"), _add("Call the bank")], id="add-two-with-and"),
    P("add milk, eggs and bread", None,
      [_add("Milk"), _add("Eggs"), _add("Bread")], id="add-comma-list"),
    P("add buy eggs and bacon", None, [_add("Buy eggs and bacon")], id="add-one-errand-with-and"),
    P("remind me to call the dentist tomorrow", None,
      [_add("Call the dentist", due_time="2026-03-12T17:00:00Z")], id="remind-me-tomorrow"),
    P("I need to water the plants", None, [_add("Water the plants")], id="i-need-to"),
    P("don't forget to email Sam", None, [_add("Email Sam")], id="dont-forget"),
    P("add a task to book flights #travel high priority", None,
      [_add("Book flights", priority="high", tags=["travel"])], id="add-tag-priority"),
    P("please add “water plants” to my list", None, [_add("Water plants")], id="add-quoted"),
    P("new task: clean the garage", None, [_add("Clean the garage")], id="new-task-colon"),
    P("put batteries on my list", None, [_add("Batteries")], id="put-on-list"),
    P("add pay taxes by april 15", None,
      [_add("Pay taxes", due_time="2026-04-15T17:00:00Z")], id="add-by-date"),
    P("add call grandma on sunday at 11am", None,
      [_add("Call grandma", due_time="2026-03-15T11:00:00Z")], id="add-weekday-time"),
    P("remind me to take out the trash tonight", None,
      [_add("Take out the trash", due_time="2026-03-11T20:00:00Z")], id="remind-tonight"),
    P("I have to renew my license in 2 weeks", None,
      [_add("Renew my license", due_time="2026-03-25T17:00:00Z")], id="in-two-weeks"),
    P("add call the plumber asap", None,
      [_add("Call the plumber", priority="high")], id="add-asap"),
    P("hey, can you add fix the bike please", None, [_add("Fix the bike")], id="add-polite"),
    P("add buy bread and remind me to call mom", None,
      [_add("Buy bread"), _add("Call mom")], id="add-and-remind"),
    P("add buy bread and show me what's still open", None,
      [_add("Buy bread"), LIST_OPEN], id="add-then-list"),
    # listing
    P("show my tasks", None, [LIST_ALL], id="show-my-tasks"),
    P("what's on my list?", None, [LIST_ALL], id="whats-on-my-list"),
    P("my tasks", None, [LIST_ALL], id="bare-my-tasks"),
    P("list everything", None, [LIST_ALL], id="list-everything"),
    P("how many tasks do I have", None, [LIST_ALL], id="how-many"),
    P("what's left?", None, [LIST_OPEN], id="whats-left"),
    P("what's still open", None, [LIST_OPEN], id="still-open"),
    P("what do I have to do", None, [LIST_OPEN], id="have-to-do"),
    P("show completed tasks", None, [LIST_DONE], id="show-completed"),
    P("what have I done?", None, [LIST_DONE], id="what-have-i-done"),
    P("any tasks about milk?", None,
      [("list_tasks", {**LIST_ALL[1], "search": "milk"})], id="search-about"),
    P("find passport", None, [("list_tasks", {**LIST_ALL[1], "search": "passport"})], id="find"),
    P("show tasks tagged home", None, [("list_tasks", {**LIST_ALL[1], "tag": "home"})], id="tag"),
    P("what's due?", None, [("list_tasks", {**LIST_OPEN[1], "sort": "due_time"})], id="due"),
    # completing: by title, fragment, id, position in the last list
    P("done with buy milk", None, [LIST_ALL, _done("t-1")], id="done-with"),
    P("mark call mom as done", None, [LIST_ALL, _done("t-2")], id="mark-as-done"),
    P("Buy Milk is done", None, [LIST_ALL, _done("t-1")], id="is-done-any-case"),
    P("I did the passport", None, [LIST_ALL, _done("t-5")], id="i-did-fragment"),
    P("the milk task is done", None, [LIST_ALL, _done("t-1")], id="fragment-prefers-open"),
    P("cross off call mom", None, [LIST_ALL, _done("t-2")], id="cross-off"),
    P("complete t-2", None, [LIST_ALL, _done("t-2")], id="by-id"),
    P("complete the second one", "what's left?", [LIST_ALL, _done("t-2")], id="second-one"),
    P("finish #3", "what's left?", [LIST_ALL, _done("t-3")], id="hash-three"),
    P("mark 1 and 4 as done", "what's left?",
      [LIST_ALL, _done("t-1"), _done("t-5")], id="two-positions"),
    P("check off the last one", "what's left?", [LIST_ALL, _done("t-5")], id="last-one"),
    P("complete all of them", "what's left?",
      [LIST_ALL, _done("t-1"), _done("t-2"), _done("t-3"), _done("t-5")], id="all-of-them"),
    P("I finished paying the rent", None, [LIST_ALL, _done("t-3")], id="word-stems"),
    P("I finished the dishes", None, [LIST_ALL], id="no-match-no-pretending"),
    P("done with buy milk and show me what's left", None,
      [LIST_ALL, _done("t-1"), LIST_OPEN], id="complete-then-list"),
    # reopening
    P("reopen oat milk", None, [LIST_ALL, _done("t-4", False)], id="reopen"),
    P("mark oat milk as not done", None, [LIST_ALL, _done("t-4", False)], id="not-done"),
    P("oat milk isn't done yet", None, [LIST_ALL, _done("t-4", False)], id="isnt-done"),
    P("uncheck the fourth one", "show my tasks", [LIST_ALL, _done("t-4", False)],
      id="uncheck-position"),
    # deleting
    P("delete buy milk", None, [LIST_ALL, _delete("t-1")], id="delete"),
    P("remove the passport task", None, [LIST_ALL, _delete("t-5")], id="remove-fragment"),
    P("get rid of call mom", None, [LIST_ALL, _delete("t-2")], id="get-rid-of"),
    P("take pay rent off my list", None, [LIST_ALL, _delete("t-3")], id="take-off-list"),
    P("I don't need to call mom anymore", None, [LIST_ALL, _delete("t-2")], id="dont-need"),
    P("delete the first one", "what's left?", [LIST_ALL, _delete("t-1")], id="delete-first"),
    P("delete buy milk and call mom", None,
      [LIST_ALL, _delete("t-1"), _delete("t-2")], id="delete-two"),
    P("delete milk", None, [LIST_ALL], id="ambiguous-asks-first"),
    P("delete the dishes", None, [LIST_ALL], id="unknown-task"),
    P("clear completed tasks", None, [LIST_DONE, _delete("t-4")], id="clear-completed"),
    P("2", "delete milk", [LIST_ALL, _delete("t-4")], id="answer-which-one-by-number"),
    P("the oat one", "delete milk", [LIST_ALL, _delete("t-4")], id="answer-by-fragment"),
    P("complete the second one", None, [LIST_ALL], id="position-without-list-asks"),
    P("1", "complete the second one", [LIST_ALL, _done("t-1")], id="answer-after-no-list"),
    # renaming and other updates
    P("rename buy milk to buy oat milk", None,
      [LIST_ALL, _update("t-1", title="Buy oat milk")], id="rename"),
    P("change call mom to call dad", None,
      [LIST_ALL, _update("t-2", title="Call dad")], id="change-to"),
    P("rename the second one to call mum", "what's left?",
      [LIST_ALL, _update("t-2", title="Call mum")], id="rename-position"),
    P("change the description of pay rent to transfer via bank", None,
      [LIST_ALL, _update("t-3", description="transfer via bank")], id="description"),
    P("set call mom priority to high", None,
      [LIST_ALL, _update("t-2", priority="high")], id="set-priority"),
    P("make renew passport low priority", None,
      [LIST_ALL, _update("t-5", priority="low")], id="make-low-priority"),
    P("call mom is urgent", None, [LIST_ALL, _update("t-2", priority="high")], id="is-urgent"),
    P("prioritize renew passport", None,
      [LIST_ALL, _update("t-5", priority="high")], id="prioritize"),
    P("pay rent is due tomorrow", None,
      [LIST_ALL, _update("t-3", due_time="2026-03-12T17:00:00Z")], id="due-tomorrow"),
    P("move the passport to next monday", None,
      [LIST_ALL, _update("t-5", due_time="2026-03-16T17:00:00Z")], id="move-to-monday"),
    P("tag call mom with family", None,
      [LIST_ALL, _update("t-2", tags=["family"])], id="tag-with"),
    P("tag pay rent with bills", None,
      [LIST_ALL, _update("t-3", tags=["home", "bills"])], id="tag-keeps-old-tags"),
    # "it": the task the last answer was about
    P("actually delete it", "add buy bread", [LIST_ALL, _delete("t-101")], id="delete-it"),
    # help and small talk: no tool calls at all
    P("hi", None, [], id="hi"),
    P("thanks!", None, [], id="thanks"),
    P("who are you?", None, [], id="who-are-you"),
    P("help", None, [], id="help"),
    P("what can you do?", None, [], id="what-can-you-do"),
    P("good morning", None, [], id="good-morning"),
    P("blah blah", None, [], id="not-understood"),
]  # fmt: skip


@pytest.mark.parametrize(("message", "before", "expected"), CASES)
async def test_phrasing_makes_the_expected_tool_calls(
    message: str, before: str | None, expected: list[tuple[str, dict[str, Any]]]
) -> None:
    book = _book()
    history: list[HistoryMessage] = []
    if before is not None:
        await _say(book, history, before)
    book.calls.clear()

    await _say(book, history, message)

    assert book.calls == expected


ANSWERS = [
    P(["add buy bread"], "Added “Buy bread”.", id="add"),
    P(["add buy bread and call the bank"], "Added 2 tasks: “Buy bread” and “Call the bank”.",
      id="add-two"),
    P(["remind me to call the dentist tomorrow at 9am #health"],
      "Added “Call the dentist” (due Thu 12 Mar 09:00, #health).", id="add-with-notes"),
    P(["what's left?"], OPEN_LIST_TEXT, id="open-list"),
    P(["show my tasks"],
      "You have 5 tasks (1 done):\n1. Buy milk\n2. Call mom\n"
      "3. Pay rent — high priority, due Fri 13 Mar, #home\n4. Oat milk — done\n"
      "5. Renew passport — #admin", id="all-list"),
    P(["what have I done?"], "You've finished 1 task:\n1. Oat milk — done", id="done-list"),
    P(["find passport"], "I found 1 task matching “passport”:\n1. Renew passport — #admin",
      id="search"),
    P(["find dishes"], "I found no tasks matching “dishes”.", id="search-nothing"),
    P(["done with buy milk"], "Marked “Buy milk” as done.", id="complete"),
    P(["what's left?", "mark 1 and 2 as done"], "Marked “Buy milk” and “Call mom” as done.",
      id="complete-two"),
    P(["oat milk is done"], "“Oat milk” is already done.", id="already-done"),
    P(["reopen oat milk"], "Reopened “Oat milk”.", id="reopen"),
    P(["delete call mom"], "Deleted “Call mom”.", id="delete"),
    P(["rename buy milk to buy oat milk"], "Renamed “Buy milk” to “Buy oat milk”.", id="rename"),
    P(["set call mom priority to high"], "Set “Call mom” to high priority.", id="priority"),
    P(["pay rent is due tomorrow"], "“Pay rent” is now due Thu 12 Mar.", id="due"),
    P(["tag call mom with family"], "Tagged “Call mom” with #family.", id="tag"),
    P(["clear completed tasks"], "Cleared 1 finished task: “Oat milk”.", id="clear"),
    P(["delete the dishes"], "I couldn't find a task matching “dishes”.", id="not-found"),
    P(["delete milk"],
      "I found 2 tasks matching “milk”:\n1. Buy milk\n2. Oat milk — done\n"
      "Which one should I delete? Reply with its number.", id="ambiguous"),
    P(["delete milk", "2"], "Deleted “Oat milk”.", id="ambiguity-answered"),
    P(["what's left?", "finish #9"], "The last list I showed has 4 tasks, so there's no #9.",
      id="out-of-range"),
    P(["delete it"], "I'm not sure which task you mean. Tell me its name or number.",
      id="it-without-antecedent"),
    P(["hi"], "Hi! I'm TodoBot. Tell me what to add, or say “show my tasks”.", id="hello"),
]  # fmt: skip


@pytest.mark.parametrize(("messages", "answer"), ANSWERS)
async def test_answers_are_friendly_sentences_built_from_tool_results(
    messages: list[str], answer: str
) -> None:
    book = _book()
    history: list[HistoryMessage] = []
    said = ""
    for message in messages:
        said = await _say(book, history, message)

    assert said == answer


async def test_positions_follow_the_list_the_user_saw_even_after_changes() -> None:
    book = _book()
    history: list[HistoryMessage] = []
    await _say(book, history, "what's left?")
    await _say(book, history, "complete the first one")
    await _say(book, history, "add buy bread")  # the open list has changed since
    book.calls.clear()

    answer = await _say(book, history, "delete the second one")

    assert book.calls == [LIST_ALL, _delete("t-2")]
    assert answer == "Deleted “Call mom”."


async def test_repeated_titles_map_to_the_same_repeat_in_the_shown_list() -> None:
    book = TaskBook([task("t-1", "Buy milk"), task("t-2", "Call mom"), task("t-9", "Buy milk")])
    history: list[HistoryMessage] = []
    await _say(book, history, "show my tasks")
    book.calls.clear()

    await _say(book, history, "delete the third one")

    assert book.calls == [LIST_ALL, _delete("t-9")]


async def test_selected_context_is_what_this_refers_to() -> None:
    book = _book()

    await _say(book, [], "mark this as done", context="Renew passport")

    assert book.calls == [LIST_ALL, _done("t-5")]


@pytest.mark.parametrize(
    ("failing", "message", "answer"),
    [
        P({"list_tasks"}, "done with buy milk", "I couldn't look up your tasks: tasks are down.",
          id="lookup"),
        P({"list_tasks"}, "what's left?", "I couldn't load your tasks: tasks are down.", id="list"),
        P({"add_task"}, "add buy bread", "I couldn't add “Buy bread”: tasks are down.", id="add"),
        P({"delete_task"}, "delete call mom", "I couldn't delete “Call mom”: tasks are down.",
          id="delete"),
    ],
)  # fmt: skip
async def test_a_failed_tool_is_reported_not_pretended(
    failing: set[str], message: str, answer: str
) -> None:
    book = _book()
    book.failing = failing

    assert await _say(book, [], message) == answer


async def test_streams_the_answer_and_names_each_call_uniquely() -> None:
    book = _book()
    session = _provider().open_session(
        TurnInput(
            system_prompt="",
            history=[HistoryMessage("user", "done with buy milk and show me what's left")],
            tools=(),
        )
    )
    deltas: list[str] = []

    async def sink(text: str) -> None:
        deltas.append(text)

    ids: list[str] = []
    while True:
        step = await session.next_step(timeout_seconds=1, on_text=sink)
        if not step.tool_calls:
            break
        ids += [call.id for call in step.tool_calls]
        session.add_tool_outcomes([book.run(call) for call in step.tool_calls])

    assert len(ids) == len(set(ids)) == 3
    assert "".join(deltas) == step.text
    assert step.text.startswith("Marked “Buy milk” as done.\n\nYou have 3 open tasks:")


async def test_missing_outcomes_are_treated_as_failures() -> None:
    session = _provider().open_session(
        TurnInput(system_prompt="", history=[HistoryMessage("user", "add buy bread")], tools=())
    )
    step = await session.next_step(timeout_seconds=1)
    assert [c.name for c in step.tool_calls] == ["add_task"]
    session.add_tool_outcomes([])

    final = await session.next_step(timeout_seconds=1)

    assert final.text == "I couldn't add “Buy bread”: the tool call was not run."


async def test_a_paged_list_result_says_how_much_it_shows() -> None:
    session = _provider().open_session(
        TurnInput(system_prompt="", history=[HistoryMessage("user", "what's left?")], tools=())
    )
    step = await session.next_step(timeout_seconds=1)
    page = {"tasks": [task("t-1", "Buy milk")], "next_page_token": "n", "total_size": 120}
    session.add_tool_outcomes([ToolOutcome(step.tool_calls[0], page, True)])

    final = await session.next_step(timeout_seconds=1)

    assert final.text == "You have 1 open task (showing the first 1 of 120):\n1. Buy milk"
