"""Everyday date phrases for the offline agent: "tomorrow", "next friday at 9am", "in 3 days".

Dates are taken in UTC (the offline agent knows no user time zone). A day without a time
means 17:00, the same rule the model prompt gives.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

DEFAULT_TIME = time(17, 0)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
# Full names, plus the abbreviations that are not also words ("sun", "wed", "sat" are).
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tues?|thur?s?|fri)"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
DATE_PHRASE = (
    r"(?:today|tonight|tomorrow|tmrw|the day after tomorrow|day after tomorrow"
    r"|(?:next|this) week(?:end)?|next month"
    rf"|(?:next |this |on )?{_WEEKDAY}"
    r"|in (?:\d+|a|an|one|two|three) (?:day|days|week|weeks)"
    r"|\d{4}-\d{2}-\d{2}"
    rf"|{_MONTH} {_DAY}(?:,? \d{{4}})?|{_DAY} (?:of )?{_MONTH}(?:,? \d{{4}})?)"
)
TIME_PHRASE = r"(?:at )?(?:noon|midnight|\d{1,2}(?::\d{2})? ?(?:am|pm)|\d{1,2}:\d{2})"
_WHEN = re.compile(
    rf"^(?:(?P<date>{DATE_PHRASE})(?:,? (?P<time>{TIME_PHRASE}))?|(?P<clock>{TIME_PHRASE}))$"
)
_TRAILING_DUE = re.compile(
    rf"(?:,?\s+(?:due|by|on|before|for)?\s*)(?P<when>(?:{DATE_PHRASE})(?:,? {TIME_PHRASE})?)$"
)
_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3}


def parse_when(text: str, now: datetime) -> datetime | None:
    """The moment a whole phrase names ("next friday at 9am"), or None if it names none."""
    phrase = " ".join(text.lower().replace(".", "").split())
    phrase = re.sub(r"^(?:on|by|due|for|to) ", "", phrase)
    match = _WHEN.match(phrase)
    if match is None:
        return None
    today = now.astimezone(UTC).date()
    day = _date(match.group("date"), today) if match.group("date") else today
    if day is None:
        return None
    clock = match.group("time") or match.group("clock")
    at = _time(clock) if clock else None
    if at is None:
        at = time(20, 0) if match.group("date") == "tonight" else DEFAULT_TIME
    return datetime.combine(day, at, tzinfo=UTC)


def split_trailing_due(text: str, now: datetime) -> tuple[str, datetime | None]:
    """Splits "call mom tomorrow at 5pm" into ("call mom", <tomorrow 17:00>)."""
    match = _TRAILING_DUE.search(text.lower())
    if match is None or match.start() == 0:
        return text, None
    when = parse_when(match.group("when"), now)
    if when is None:
        return text, None
    return text[: match.start()].rstrip(" ,"), when


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe(moment: datetime, now: datetime) -> str:
    """A short absolute form that stays true in history: "Fri 14 Mar", "Fri 14 Mar 09:30"."""
    local = moment.astimezone(UTC)
    text = f"{local:%a} {local.day} {local:%b}"
    if local.year != now.astimezone(UTC).year:
        text += f" {local.year}"
    if local.time() != DEFAULT_TIME:
        text += f" {local:%H:%M}"
    return text


def _date(phrase: str, today: date) -> date | None:
    phrase = phrase.removeprefix("on ")
    simple = {
        "today": 0,
        "tonight": 0,
        "tomorrow": 1,
        "tmrw": 1,
        "day after tomorrow": 2,
        "the day after tomorrow": 2,
    }
    if phrase in simple:
        return today + timedelta(days=simple[phrase])
    if phrase in ("next week", "this week"):
        return today + timedelta(days=7 - today.weekday()) if phrase == "next week" else today
    if phrase in ("this weekend", "next weekend"):
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        return saturday + timedelta(days=7) if phrase == "next weekend" else saturday
    if phrase == "next month":
        return (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    if match := re.fullmatch(r"in (\w+) (day|days|week|weeks)", phrase):
        count = int(match.group(1)) if match.group(1).isdigit() else _COUNTS[match.group(1)]
        return today + timedelta(days=count * (7 if match.group(2).startswith("week") else 1))
    if match := re.fullmatch(r"(next |this )?(\w+)", phrase):
        weekday = _weekday(match.group(2))
        if weekday is not None:
            # The coming one, never today: "friday" said on a Friday means next week's.
            # "next friday" is read the same way; people disagree on it anyway.
            return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", phrase):
        try:
            return date.fromisoformat(phrase)
        except ValueError:
            return None
    return _calendar_date(phrase, today)


def _calendar_date(phrase: str, today: date) -> date | None:
    match = re.fullmatch(rf"({_MONTH}) (\d{{1,2}})(?:st|nd|rd|th)?(?:,? (\d{{4}}))?", phrase)
    if match:
        month_name, day_text, year_text = match.groups()
    else:
        match = re.fullmatch(
            rf"(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?({_MONTH})(?:,? (\d{{4}}))?", phrase
        )
        if match is None:
            return None
        day_text, month_name, year_text = match.groups()
    month = next((i for i, m in enumerate(_MONTHS, 1) if m.startswith(month_name[:3])), None)
    if month is None:
        return None
    year = int(year_text) if year_text else today.year
    try:
        found = date(year, month, int(day_text))
    except ValueError:
        return None
    if not year_text and found < today:
        found = found.replace(year=year + 1)  # "march 3" in April means next year's
    return found


def _weekday(word: str) -> int | None:
    for index, name in enumerate(_WEEKDAYS):
        if word == name or (len(word) >= 3 and name.startswith(word)):
            return index
    return None


def _time(phrase: str) -> time | None:
    phrase = phrase.removeprefix("at ").replace(" ", "")
    if phrase == "noon":
        return time(12, 0)
    if phrase == "midnight":
        return time(0, 0)
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(am|pm)?", phrase)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if match.group(3) == "pm" and hour < 12:
        hour += 12
    elif match.group(3) == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)
