"""Changes to existing tasks: the phrase table for complete, reopen, delete and updates.

Patterns are tried in order and the first that builds a change wins; a builder may
decline (a "move X to <not a date>"), and then later patterns get their chance.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from services.chat.llm.offline_dates import parse_when
from services.chat.llm.offline_intents import (
    LIST_NOUN,
    Action,
    ChangeTasks,
    parse_refs,
    priority_of,
)

_F = re.IGNORECASE
_PRI = r"(?P<p>not urgent|not important|high|low|medium|normal|urgent|important|top)"
Builder = Callable[[re.Match[str], datetime], ChangeTasks | None]


def _refs_change(action: Action) -> Builder:
    def build(match: re.Match[str], now: datetime) -> ChangeTasks | None:
        targets, whole = parse_refs(match.group("refs"))
        return ChangeTasks(action, targets, whole)

    return build


def _valued(action: Action) -> Builder:
    def build(match: re.Match[str], now: datetime) -> ChangeTasks | None:
        targets, whole = parse_refs(match.group("refs"))
        value = match.group("v").strip(" \"'“”")
        return ChangeTasks(action, targets, whole, value=value) if value else None

    return build


def _prioritized(match: re.Match[str], now: datetime) -> ChangeTasks | None:
    level = priority_of(match.group("p"))
    targets, whole = parse_refs(match.group("refs"))
    return ChangeTasks("prioritize", targets, whole, value=level) if level else None


def _fixed_priority(level: str) -> Builder:
    def build(match: re.Match[str], now: datetime) -> ChangeTasks | None:
        targets, whole = parse_refs(match.group("refs"))
        return ChangeTasks("prioritize", targets, whole, value=level)

    return build


def _scheduled(match: re.Match[str], now: datetime) -> ChangeTasks | None:
    due = parse_when(match.group("w"), now)
    if due is None:
        return None
    targets, whole = parse_refs(match.group("refs"))
    return ChangeTasks("schedule", targets, whole, due=due)


def _tagged(match: re.Match[str], now: datetime) -> ChangeTasks | None:
    tags = [t.lstrip("#").lower() for t in re.split(r"[,\s]+(?:and\s+)?", match.group("v"))]
    tags = [t for t in tags if re.fullmatch(r"[\w-]{1,32}", t) and t != "and"]
    targets, whole = parse_refs(match.group("refs"))
    return ChangeTasks("tag", targets, whole, value=", ".join(tags)) if tags else None


def _renamed(match: re.Match[str], now: datetime) -> ChangeTasks | None:
    value = match.group("v").strip(" \"'“”")
    level = re.fullmatch(rf"{_PRI}(?: priority)?", value, _F)
    if level:
        return _prioritized_from(match, level.group("p"))
    if parse_when(value, now) is not None:
        return _scheduled_from(match, value, now)
    targets, whole = parse_refs(match.group("refs"))
    return ChangeTasks("rename", targets, whole, value=value) if value else None


def _prioritized_from(match: re.Match[str], word: str) -> ChangeTasks | None:
    level = priority_of(word)
    targets, whole = parse_refs(match.group("refs"))
    return ChangeTasks("prioritize", targets, whole, value=level) if level else None


def _scheduled_from(match: re.Match[str], phrase: str, now: datetime) -> ChangeTasks | None:
    targets, whole = parse_refs(match.group("refs"))
    return ChangeTasks("schedule", targets, whole, due=parse_when(phrase, now))


_DONE = r"(?:done|complete|completed|finished|checked)"
_NOT_DONE = (
    r"(?:not done|undone|not complete|not completed|incomplete|unfinished|open|pending|to do|"
    r"todo|not finished|active)"
)
_CHANGES: list[tuple[re.Pattern[str], Builder]] = [
    (re.compile(p, _F), b)
    for p, b in [
        (r"(?:change|set|update|edit|make)\s+(?:the\s+)?(?:description|notes?|details)\s+"
         r"(?:of|for|on)\s+(?P<refs>.+?)\s+(?:to|as)\s*:?\s*(?P<v>.+)", _valued("describe")),
        (r"(?:change|set|update|edit)\s+(?P<refs>.+?)'s\s+(?:description|notes?|details)\s+"
         r"(?:to|as)\s*:?\s*(?P<v>.+)", _valued("describe")),
        (r"add\s+(?:a\s+)?(?:note|description|details?)\s+(?:to|on|for)\s+(?P<refs>.+?)\s*"
         r"(?::|saying)\s*(?P<v>.+)", _valued("describe")),
        (r"describe\s+(?P<refs>.+?)\s+as\s+(?P<v>.+)", _valued("describe")),
        (rf"(?:set|change|make|update)\s+(?:the\s+)?priority\s+(?:of|for|on)\s+(?P<refs>.+?)\s+"
         rf"to\s+{_PRI}", _prioritized),
        (rf"(?:set|change|make|update)\s+(?P<refs>.+?)(?:'s)?\s+priority\s+(?:to\s+)?{_PRI}",
         _prioritized),
        (rf"(?:make|mark|set|flag)\s+(?P<refs>.+?)\s+(?:as\s+)?(?:an?\s+)?{_PRI}(?:\s+priority)?",
         _prioritized),
        (rf"(?P<refs>.+?)\s+is\s+(?:really\s+|very\s+|super\s+)?{_PRI}(?:\s+priority)?",
         _prioritized),
        (r"(?:prioriti[sz]e|bump up)\s+(?P<refs>.+)", _fixed_priority("high")),
        (r"(?:deprioriti[sz]e|lower the priority of)\s+(?P<refs>.+)", _fixed_priority("low")),
        (r"(?P<refs>.+?)\s+is\s+(?:now\s+)?due\s+(?P<w>.+)", _scheduled),
        (r"(?:set|change|move|update|push)\s+(?:the\s+)?(?:due date|due time|deadline|due)\s+"
         r"(?:of|for|on)\s+(?P<refs>.+?)\s+to\s+(?P<w>.+)", _scheduled),
        (r"(?:move|push|postpone|reschedule|defer|delay|shift)\s+(?P<refs>.+?)\s+"
         r"(?:to|until|till|for)\s+(?P<w>.+)", _scheduled),
        (r"(?:set|make)\s+(?P<refs>.+?)\s+due\s+(?P<w>.+)", _scheduled),
        (r"(?:tag|label)\s+(?P<refs>.+?)\s+(?:with|as)\s+(?P<v>.+)", _tagged),
        (r"add\s+(?:the\s+)?tags?\s+(?P<v>.+?)\s+to\s+(?P<refs>.+)", _tagged),
        # Reopening comes before completing: "mark it as not done" also ends in "done".
        (r"(?:reopen|re-open|uncheck|untick|unmark|uncomplete|undo|restore)\s+(?P<refs>.+)",
         _refs_change("reopen")),
        (rf"(?:mark|set|put)\s+(?P<refs>.+?)\s+(?:as\s+)?{_NOT_DONE}(?:\s+again)?",
         _refs_change("reopen")),
        (r"(?P<refs>.+?)\s+(?:isn't|is not|wasn't|was not|aren't|are not)\s+(?:actually\s+|"
         r"really\s+)?(?:done|finished|complete|completed)(?:\s+yet|\s+after all)?",
         _refs_change("reopen")),
        (rf"(?:mark|set|put)\s+(?P<refs>.+?)\s+(?:as\s+)?{_DONE}", _refs_change("complete")),
        (r"(?:i(?:'ve| have)?\s+)?(?:just\s+|already\s+)?(?:complete|completed|finish|finished|"
         r"did|checked off|ticked off|crossed off)\s+(?P<refs>.+)", _refs_change("complete")),
        (r"(?:i'm\s+|i am\s+)?(?:done|finished)\s+with\s+(?P<refs>.+)", _refs_change("complete")),
        (r"(?:check off|tick off|cross off|mark off|done:?)\s+(?P<refs>.+)",
         _refs_change("complete")),
        (rf"(?:check|tick|cross)\s+(?P<refs>.+?)\s+off(?:\s+{LIST_NOUN})?",
         _refs_change("complete")),
        (r"(?P<refs>.+?)\s+(?:is|are|was|were)\s+(?:now\s+|all\s+)?(?:done|finished|complete|"
         r"completed|taken care of|sorted)", _refs_change("complete")),
        (rf"take\s+(?P<refs>.+?)\s+off\s+{LIST_NOUN}", _refs_change("delete")),
        (r"(?:delete|remove|erase|drop|trash|discard|cancel|scrap|scratch|ditch|get rid of|"
         r"forget about)\s+(?P<refs>.+)", _refs_change("delete")),
        (r"i\s+(?:don't|do not)\s+(?:need|have)\s+to\s+(?P<refs>.+?)\s+(?:anymore|any more)",
         _refs_change("delete")),
        # Renaming comes last: "change X to Y" is also how people set other fields.
        (r"(?:rename|retitle)\s+(?P<refs>.+?)\s+(?:to|as|into)\s+(?P<v>.+)", _renamed),
        (r"(?:change|update|edit|set)\s+(?:the\s+)?(?:title|name|wording|text)\s+of\s+"
         r"(?P<refs>.+?)\s+to\s+(?P<v>.+)", _renamed),
        (r"(?:change|update|edit)\s+(?P<refs>.+?)\s+to\s+(?:say\s+|read\s+)?(?P<v>.+)", _renamed),
    ]
]  # fmt: skip


def parse_change(text: str, now: datetime) -> ChangeTasks | None:
    """The change `text` asks for, or None if it asks for none."""
    for pattern, build in _CHANGES:
        match = pattern.fullmatch(text)
        if match:
            change = build(match, now)
            if change is not None:
                return change
    return None
