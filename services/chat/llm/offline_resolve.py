"""Which of the user's tasks a reference means, given the tasks list_tasks just returned.

Resolution never guesses between equals: several equally good matches come back as
`Ambiguous`, and the plan asks the user which one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.chat.llm.offline_intents import Action, Ref
from services.chat.llm.offline_listing import ShownItem, TaskView


@dataclass(frozen=True)
class Memory:
    """What the agent can recall of the conversation (it keeps nothing between requests)."""

    now: datetime
    shown: Sequence[ShownItem] | None = None  # the last numbered list it showed
    mentioned: Sequence[str] = ()  # titles quoted in its last answer
    context: str | None = None  # text the user selected in the app this turn


@dataclass(frozen=True)
class Found:
    tasks: tuple[TaskView, ...]


@dataclass(frozen=True)
class Ambiguous:
    said: str
    candidates: tuple[TaskView, ...]


@dataclass(frozen=True)
class Missing:
    said: str


@dataclass(frozen=True)
class NoList:
    """A position ("the second one") with no list to count in."""


@dataclass(frozen=True)
class OutOfRange:
    position: int
    size: int


@dataclass(frozen=True)
class Unclear:
    """ "it" with nothing (or too much) to refer to."""


Resolution = Found | Ambiguous | Missing | NoList | OutOfRange | Unclear


def _norm(text: str) -> str:
    return " ".join(text.lower().strip(" .!?\"'“”").split())


_STOPWORDS = frozenset({"a", "an", "the", "my", "to", "of", "for", "with", "on", "at"})


def _stems(text: str) -> frozenset[str]:
    """Rough word stems, so "paying the rent" finds "Pay rent"."""
    stems = set()
    for word in _norm(text).split():
        if word in _STOPWORDS:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if len(word) > len(suffix) + 2 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        stems.add(word)
    return frozenset(stems)


def resolve(ref: Ref, action: Action, tasks: Sequence[TaskView], memory: Memory) -> Resolution:
    if ref.kind in ("position", "last", "all"):
        if not memory.shown:
            return NoList()
        if ref.kind == "all":
            found = [_by_shown(item, tasks, memory.shown) for item in memory.shown]
            return Found(tuple(t for t in found if t is not None))
        position = len(memory.shown) if ref.kind == "last" else ref.position
        item = next((i for i in memory.shown if i.position == position), None)
        if item is None:
            return OutOfRange(position, len(memory.shown))
        task = _by_shown(item, tasks, memory.shown)
        return Found((task,)) if task else Missing(item.title)
    if ref.kind == "it":
        if memory.context and memory.context.strip():
            return by_text(memory.context.strip(), action, tasks)
        if len(memory.mentioned) != 1:
            return Unclear()
        return by_text(memory.mentioned[0], action, tasks)
    return by_text(ref.text, action, tasks)


def _by_shown(
    item: ShownItem, tasks: Sequence[TaskView], shown: Sequence[ShownItem]
) -> TaskView | None:
    """The task behind a listed line: same title (and state), counting repeated titles."""
    title = _norm(item.title)
    twins = [s for s in shown if _norm(s.title) == title and s.completed == item.completed]
    nth = twins.index(item) if item in twins else 0
    same = [t for t in tasks if _norm(t.title) == title and t.completed == item.completed]
    if not same:
        same = [t for t in tasks if _norm(t.title) == title]  # its state changed since
    if not same:
        return None
    return same[nth] if nth < len(same) else same[0]


def by_text(
    said: str, action: Action, tasks: Sequence[TaskView], within: Sequence[str] = ()
) -> Resolution:
    """By id, exact title, a fragment of the title, or all of its words (case-insensitive)."""
    needle = _norm(said)
    if not needle:
        return Missing(said)
    by_id = [t for t in tasks if t.id == said.strip()]
    if by_id:
        return Found((by_id[0],))
    shown_titles = {_norm(t) for t in within}
    wanted = _stems(needle)
    for matches in (
        [t for t in tasks if _norm(t.title) == needle],
        [t for t in tasks if needle in _norm(t.title)],
        [t for t in tasks if wanted and wanted <= _stems(t.title)],
    ):
        if shown_titles:
            listed = [t for t in matches if _norm(t.title) in shown_titles]
            matches = listed or matches
        if len(matches) == 1:
            return Found((matches[0],))
        if matches:
            preferred = _preferred(matches, action)
            if len(preferred) == 1:
                return Found((preferred[0],))
            return Ambiguous(said, tuple(preferred or matches))
    return Missing(said)


def _preferred(matches: Sequence[TaskView], action: Action) -> list[TaskView]:
    # Completing targets open tasks and reopening targets done ones; a change most likely
    # means a task still on the go. Deleting prefers nothing: asking is cheaper than a loss.
    if action == "delete":
        return list(matches)
    want_done = action == "reopen"
    return [t for t in matches if t.completed == want_done]
