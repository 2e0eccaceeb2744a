"""Whole sentences into intents: the phrase tables of the offline agent.

Order matters and is deliberate: small talk, then bulk clears, then changes to existing
tasks (their verbs are more specific), then listing, then adding. A message may hold
several clauses ("add buy milk and show me what's open"); it is split before each
command verb, and a piece that is no command of its own stays with the one before it
("add buy milk and call mom" is one add with two tasks).
"""

from __future__ import annotations

import re
from datetime import datetime

from services.chat.llm.offline_changes import parse_change
from services.chat.llm.offline_dates import split_trailing_due
from services.chat.llm.offline_intents import (
    LIST_NOUN,
    AddTasks,
    ClearCompleted,
    Intent,
    NewTask,
    ShowTasks,
    Talk,
    change_from_pending,
    priority_of,
    talk,
)

_F = re.IGNORECASE


def parse(message: str, now: datetime, pending: str | None = None) -> list[Intent]:
    """The intents of one user message, in the order they were said."""
    spoken = " ".join(message.replace("\u2019", "'").split())
    greeting = talk(spoken)
    if greeting is not None:
        return [greeting]
    text = _tidy(spoken)
    if not text:
        return [Talk("unknown", message)]
    intents = _clauses(text, now)
    if pending and len(intents) == 1 and _unknown(intents[0]) and len(text.split()) <= 8:
        reply = change_from_pending(pending, text, now)
        if reply is not None:
            return [reply]
    merged: list[Intent] = []
    for intent in intents:
        last = merged[-1] if merged else None
        if isinstance(intent, AddTasks) and isinstance(last, AddTasks):
            merged[-1] = AddTasks(last.tasks + intent.tasks)
        else:
            merged.append(intent)
    return merged


def parse_clause(text: str, now: datetime) -> Intent:
    found = talk(text) or _clear(text) or parse_change(text, now) or _show(text) or _add(text, now)
    return found if found is not None else Talk("unknown", text)


def _unknown(intent: Intent) -> bool:
    return isinstance(intent, Talk) and intent.kind == "unknown"


def _tidy(text: str) -> str:
    lead = r"^(?:(?:ok(?:ay)?|so|hey|hi|hello|please|pls|plz|can you|could you|would you|"
    lead += r"will you|todobot|and|also|now|then|just|oh|um|actually|alright)[,!:]?\s+)+"
    text = re.sub(lead, "", text, flags=_F)
    trail = r"(?:[\s,]+(?:please|pls|thanks|thank you|for me|now))+[\s.!?]*$"
    text = re.sub(trail, "", text, flags=_F)
    return text.strip().rstrip(".!?").strip()


_SPLIT = re.compile(
    r"(?:\s*[,;]\s*(?:and\s+)?|\s+and\s+|\s+then\s+|\.\s+)(?:then\s+|also\s+)?"
    r"(?=(?:add|create|remind me|show|list|display|delete|remove|complete|finish|mark|rename|"
    r"reopen|uncheck|what|tell me|give me|set|change|move|tag|clear|how many)\b)",
    _F,
)


def _clauses(text: str, now: datetime) -> list[Intent]:
    cuts = [(m.start(), m.end()) for m in _SPLIT.finditer(text)]
    starts = [0] + [end for _, end in cuts]
    ends = [start for start, _ in cuts] + [len(text)]
    spans: list[tuple[int, int]] = []
    for start, end in zip(starts, ends, strict=True):
        if spans and _unknown(parse_clause(text[start:end], now)):
            spans[-1] = (spans[-1][0], end)  # "… and set the table" belongs to the clause before
        else:
            spans.append((start, end))
    return [parse_clause(text[start:end], now) for start, end in spans]


def _clear(text: str) -> ClearCompleted | None:
    pattern = (
        r"(?:clear|delete|remove|purge|clean up|get rid of)\s+(?:out\s+)?(?:all\s+)?(?:of\s+)?"
        r"(?:the\s+|my\s+)?(?:completed|done|finished|checked)(?:\s+(?:tasks|ones|items|todos))?"
    )
    return ClearCompleted() if re.fullmatch(pattern, text, _F) else None


_SHOW_VERB = (
    r"(?:show|list|display|view|see|check|read|read out|give me|tell me|get me|pull up|"
    r"bring up|find|search|search for|look up|look for|ls)"
)
_QUESTION = r"(?:what|what's|whats|which|how many|do i have|have i|any|anything|is there)"
_LIST_WORDS = (
    r"\b(?:tasks?|todos?|to-dos?|list|left|open|pending|done|finished|finish|completed|complete|"
    r"remaining|outstanding|due|plate|agenda|things|anything|everything|have to do|need to do|"
    r"to do|did i do|get done)\b"
)
_JUST_LIST = (
    r"(?:(?:my|all|all my|the|open|pending|completed|done|finished|remaining|outstanding|"
    r"current|unfinished)\s+)*(?:tasks|todos|to-dos|list|todo list|to-do list|to do list|"
    r"things to do|stuff to do|tasks list|task list)"
)


def _show(text: str) -> ShowTasks | None:
    lowered = text.lower().rstrip("?")
    if not (
        re.match(rf"{_SHOW_VERB}\b", lowered)
        or (re.match(rf"{_QUESTION}\b", lowered) and re.search(_LIST_WORDS, lowered))
        or re.fullmatch(_JUST_LIST, lowered)
    ):
        return None
    if re.search(r"\b(?:not done|not finished|not completed|undone|unfinished|incomplete|open|"
                 r"pending|left|remaining|outstanding|still|active|need to do|have to do|due)\b",
                 lowered):  # fmt: skip
        status = "pending"
    elif re.search(r"\b(?:done|completed|complete|finished|finish|accomplished|checked off|"
                   r"ticked off|did i do|got done)\b", lowered):  # fmt: skip
        status = "completed"
    else:
        status = "all"
    tag = re.search(r"(?:tagged|with (?:the )?tag|labell?ed)\s+#?(?P<t>[\w-]+)|#(?P<h>[\w-]+)",
                    lowered)  # fmt: skip
    search = re.search(
        r"(?:\b(?:about|containing|matching|mentioning|related to|regarding|called|named|"
        r"with the word|that (?:mention|contain|say)s?)\s+|^(?:find|search(?: for)?|look (?:up|"
        r"for))\s+(?:(?:tasks?|anything)\s+(?:about|with|for)\s+)?)(?P<q>.+)$",
        text.rstrip("?"),
        _F,
    )
    query = None
    if search:
        query = re.sub(r"^(?:the|a|an|my)\s+", "", search.group("q").strip(" \"'“”"), flags=_F)
        query = re.sub(r"\s+(?:tasks?|todos?|items?)$", "", query, flags=_F) or None
    return ShowTasks(
        status=status,  # type: ignore[arg-type]
        search=query,
        tag=(tag.group("t") or tag.group("h")) if tag else None,
        by_due=bool(re.search(r"\bdue\b", lowered)),
    )


_ADD = [
    re.compile(p, _F)
    for p in (
        rf"add\s+to\s+{LIST_NOUN}\s*:?\s*(?P<rest>.+)",
        rf"put\s+(?P<rest>.+?)\s+on\s+{LIST_NOUN}",
        r"(?:add|create|insert|jot down|write down)\s+(?:(?:a|an|another|one more|new|the)\s+)*"
        r"(?:(?:task|todo|to-do|item|reminder|entry)s?(?:\s*(?:to|for|called|named|titled|saying|"
        r"that says)\s+|\s*[:-]\s*|\s+))?(?P<rest>.+)",
        r"(?:remind me(?:\s+(?:to|that|about))?|don't\s+(?:let me\s+)?forget(?:\s+(?:to|about))?|"
        r"i\s+(?:need|have|want|ought|got)\s+to|i've\s+got\s+to|i\s+gotta|i\s+must|i\s+should|"
        r"remember\s+to|note to self:?|(?:new\s+)?(?:task|todo|to-do)\s*:)\s*(?P<rest>.+)",
    )
]


def _add(text: str, now: datetime) -> AddTasks | None:
    for pattern in _ADD:
        match = pattern.fullmatch(text)
        if match:
            rest = re.sub(
                rf"\s+(?:to|on|onto|in)\s+{LIST_NOUN}$", "", match.group("rest"), flags=_F
            )
            rest = re.sub(r"\s+as\s+an?\s+(?:task|todo|reminder)$", "", rest, flags=_F)
            tasks = [t for t in (_new_task(item, now) for item in _items(rest)) if t]
            return AddTasks(tuple(tasks)) if tasks else None
    return None


def _items(rest: str) -> list[str]:
    if "," in rest:  # a list: "milk, eggs and bread"
        parts = re.split(r"\s*,\s*(?:and\s+|&\s+)?|\s+(?:and|&)\s+(?=[^,]*$)", rest, flags=_F)
    else:
        parts = []
        for piece in re.split(r"\s+(?:and|&|then|plus)\s+(?:then\s+|also\s+)?", rest, flags=_F):
            if parts and len(piece.split()) < 2:
                parts[-1] = f"{parts[-1]} and {piece}"  # "milk and eggs" is one errand
            else:
                parts.append(piece)
    cleaned = [re.sub(r"^(?:remind me to|to|also)\s+", "", p.strip(), flags=_F) for p in parts]
    return [p for p in cleaned if p]


_PRIORITY_MARKS = [
    re.compile(r"[\s,]*[(\[]?\b(?P<p>high|low|medium|normal|top)[- ]priority\b[)\]]?", _F),
    re.compile(r"[\s,]*[(\[]?\bpriority[:\s]+(?P<p>high|low|medium)\b[)\]]?", _F),
    re.compile(r"^(?P<p>urgent|important|asap)\s*[:!-]+\s*", _F),
    re.compile(r"[\s,-]*[(\[]?\b(?P<p>urgent|asap|important)\b[)\]]?!*$", _F),
    re.compile(r"\s*(?P<p>!!+)$"),
]


def _priority_mark(text: str) -> tuple[str, str | None]:
    for pattern in _PRIORITY_MARKS:
        match = pattern.search(text)
        if match:
            word = match.group("p").lower()
            level = "high" if word in ("asap", "urgent", "important") or "!" in word else word
            return (text[: match.start()] + " " + text[match.end() :]).strip(), priority_of(level)
    return text, None


def _new_task(raw: str, now: datetime) -> NewTask | None:
    text = raw.strip(" .!\"'“”")
    tags = [t.lower() for t in re.findall(r"(?:^|\s)#([\w-]{1,32})\b", text)]
    text = re.sub(r"(?:^|\s)#[\w-]{1,32}\b", "", text)
    named = re.search(r"\s+(?:tagged|with (?:the )?tags?)\s+(?P<t>[\w-]+(?:(?:,\s*|\s+and\s+)"
                      r"[\w-]+)*)$", text, _F)  # fmt: skip
    if named:
        tags += [t.lower() for t in re.split(r",\s*|\s+and\s+", named.group("t"))]
        text = text[: named.start()]
    text, priority = _priority_mark(text)
    text, due = split_trailing_due(text, now)
    if priority is None:
        text, priority = _priority_mark(text)  # "call mom urgent tomorrow"
    title = text.strip(" ,.-:;\"'“”")
    if not title:
        return None
    return NewTask(title[0].upper() + title[1:], priority, due, tuple(dict.fromkeys(tags)))
