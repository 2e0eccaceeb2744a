"""What the offline agent understood: the intents, and the small parsers they share.

Nothing is looked up or executed here. References to tasks stay unresolved (`Ref`)
until a plan has listed the user's tasks through the tool path. The phrase tables that
turn whole sentences into these intents are in `offline_phrases`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.chat.llm.offline_dates import parse_when

Action = Literal[
    "complete", "reopen", "delete", "rename", "describe", "prioritize", "schedule", "tag"
]
TalkKind = Literal["hello", "thanks", "who", "help", "bye", "how", "nevermind", "unknown"]


@dataclass(frozen=True)
class Ref:
    """How the user named a task: by words of its title, a position, "it", "the last one"."""

    kind: Literal["text", "position", "last", "it", "all"]
    text: str = ""
    position: int = 0


@dataclass(frozen=True)
class NewTask:
    title: str
    priority: str | None = None
    due: datetime | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AddTasks:
    tasks: tuple[NewTask, ...]


@dataclass(frozen=True)
class ShowTasks:
    status: Literal["all", "pending", "completed"] = "all"
    search: str | None = None
    tag: str | None = None
    by_due: bool = False


@dataclass(frozen=True)
class ChangeTasks:
    action: Action
    targets: tuple[Ref, ...]
    whole: Ref | None = None  # the unsplit words, tried first ("salt and pepper")
    value: str = ""  # new title, description, priority or tags
    due: datetime | None = None
    within_shown: bool = False  # a reply to "Which one should I …?"


@dataclass(frozen=True)
class ClearCompleted:
    pass


@dataclass(frozen=True)
class Talk:
    kind: TalkKind
    said: str = ""


Intent = AddTasks | ShowTasks | ChangeTasks | ClearCompleted | Talk

_F = re.IGNORECASE
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_PRIORITY_WORDS = {
    "high": "high", "urgent": "high", "important": "high", "top": "high", "medium": "medium",
    "normal": "medium", "low": "low", "not urgent": "low", "not important": "low",
}  # fmt: skip
LIST_NOUN = r"(?:my |the )?(?:list|tasks|todo list|to-do list|to do list|task list)"
_TALK: list[tuple[TalkKind, str]] = [
    ("help", r"help|help me|\?+|what can you do|what can i (?:say|do|ask)|how does (?:this|it) "
     r"work|how do i use (?:this|you|it)|commands|what do you understand|instructions|usage"),
    ("hello", r"(?:hi|hello|hey|heya|hiya|yo|howdy|greetings|good (?:morning|afternoon|evening))"
     r"(?: there| todobot| bot)?"),
    ("thanks", r"(?:thanks|thank you|thx|ty|cheers|many thanks|appreciate it|much appreciated)"
     r"(?: so much| a lot| todobot)?|(?:great|awesome|perfect|nice|cool|ok|okay|got it)"
     r"(?:,? thanks)?"),
    ("who", r"who are you|what are you|what(?:'s| is) your name|are you (?:a bot|a robot|human|"
     r"real|an ai)|introduce yourself"),
    ("how", r"how are you(?: doing)?|how's it going|what's up|sup"),
    ("bye", r"bye|goodbye|good bye|see you|see ya|good night|later|cya"),
    ("nevermind", r"never ?mind|nvm|cancel|forget it|no|nope|nothing|stop|no thanks|not now"),
]  # fmt: skip


def parse_refs(text: str) -> tuple[tuple[Ref, ...], Ref | None]:
    """Targets from "the milk task", "1 and 3", "buy milk, call mom"; plus the whole text."""
    text = re.sub(rf"\s+(?:from|off|on)\s+{LIST_NOUN}$", "", text.strip(" .!?"), flags=_F)
    parts = [p for p in re.split(r"\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+", text, flags=_F) if p]
    if len(parts) <= 1:
        return (_ref(text),), None
    whole = _ref(text)
    return tuple(_ref(p) for p in parts), whole if whole.kind == "text" else None


def _ref(text: str) -> Ref:
    words = text.strip(" .!?\"'“”").lower()
    if re.fullmatch(r"(?:it|that|this|them|that one|this one|th(?:at|is|e) task)", words):
        return Ref("it")
    if re.fullmatch(r"(?:all|everything|all of them|them all|all (?:the |those |these )?"
                    r"(?:ones|tasks))", words):  # fmt: skip
        return Ref("all")
    if re.fullmatch(r"(?:the )?(?:very )?last(?: one| task| item)?(?: on the list)?", words):
        return Ref("last")
    match = re.fullmatch(
        r"(?:the |number |no\.? ?|#|task |item |task #|item #)*(?P<n>\d{1,3}(?:st|nd|rd|th)?|[a-z]+)"
        r"(?: one| task| item)?(?: (?:on|in|from) the list)?",
        words,
    )
    if match:
        n = re.sub(r"(?<=\d)(?:st|nd|rd|th)$", "", match.group("n"))
        position = int(n) if n.isdigit() else _ORDINALS.get(n)
        if position:
            return Ref("position", position=position)
    cleaned = re.sub(r"^(?:the|my|that|this)\s+", "", text.strip(" .!?\"'“”"), flags=_F)
    cleaned = re.sub(r"\s+(?:task|todo|item|one)$", "", cleaned, flags=_F)
    return Ref("text", text=cleaned.strip(" \"'“”"))


def talk(text: str) -> Talk | None:
    lowered = text.lower().strip(" ?!.") or text.strip()
    for kind, pattern in _TALK:
        if re.fullmatch(pattern, lowered):
            return Talk(kind, text)
    return None


def priority_of(word: str) -> str | None:
    return _PRIORITY_WORDS.get(word.lower().replace("-", " ").strip())


def change_from_pending(pending: str, reply: str, now: datetime) -> ChangeTasks | None:
    """The change a "Which one should I <pending>?" asked about, applied to the reply."""
    targets, whole = parse_refs(reply)
    value, due = "", None
    if pending == "mark as done":
        action: Action = "complete"
    elif pending in ("reopen", "delete"):
        action = "reopen" if pending == "reopen" else "delete"
    elif match := re.fullmatch(r"rename to “(.+)”", pending):
        action, value = "rename", match.group(1)
    elif match := re.fullmatch(r"describe as “(.+)”", pending, re.DOTALL):
        action, value = "describe", match.group(1)
    elif match := re.fullmatch(r"set to (low|medium|high) priority", pending):
        action, value = "prioritize", match.group(1)
    elif match := re.fullmatch(r"make due (.+)", pending):
        action, due = "schedule", parse_when(match.group(1), now)
        if due is None:
            return None
    elif match := re.fullmatch(r"tag with (.+)", pending):
        action, value = "tag", match.group(1)
    else:
        return None
    return ChangeTasks(action, targets, whole, value=value, due=due, within_shown=True)


def action_phrase(change: ChangeTasks) -> str:
    """The words after "Which one should I" that `change_from_pending` reads back."""
    if change.action == "complete":
        return "mark as done"
    if change.action == "rename":
        return f"rename to “{change.value}”"
    if change.action == "describe":
        return f"describe as “{change.value}”"
    if change.action == "prioritize":
        return f"set to {change.value} priority"
    if change.action == "schedule" and change.due is not None:
        return f"make due {change.due:%Y-%m-%d %H:%M}"
    if change.action == "tag":
        return f"tag with {change.value}"
    return change.action
