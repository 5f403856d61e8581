"""Office hours as staff type them ("周一至周五 8:30-12:00，13:30-17:00；周六休息"), read into weekly hours, and the
town's clock. Shared by the action server (whether the service centre is open, whether a person can take a
conversation now) and the staff admin (refusing hours it could not read). Standard library only.

Weekly hours are kept structured (`Week`: weekday -> time ranges; stored as JSON by `to_json`), never as the text
staff typed, so that a reply can say them in the resident's language (`runs` groups the days for that;
actions/i18n.py words them from actions/texts.yml)."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

TOWN_TIME = ZoneInfo("Asia/Shanghai")  # the town's clock, whatever the server's
Week = dict[int, list[tuple[time, time]]]  # weekday (0 = Monday) -> [(opens, closes)]; a missing day is closed
END_OF_DAY = time(23, 59, 59)  # "24:00"

# ---------- reading office hours as staff type them ("周一至周五 8:30-12:00，13:30-17:00；周六休息") ----------
_DAY = (
    r"(?:周|星期|礼拜)[一二三四五六日天1-7]|mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|"
    r"fri(?:day)?|sat(?:urday)?|sun(?:day)?"
)
_CLOCK = r"(?:上午|下午|中午|晚上|早上)?\s*\d{1,2}(?:[:.]\d{2}|点(?:半|\d{1,2}分?)?)?\s*(?:am|pm|a\.m\.|p\.m\.)?"
_RANGE = r"\s*(?:-|~|至|到|to|until|till)\s*"
_TOKENS = re.compile(
    rf"(?P<time>{_CLOCK}{_RANGE}{_CLOCK})"
    rf"|(?P<days>(?:{_DAY}){_RANGE}(?:{_DAY})|{_DAY})"
    r"|(?P<group>工作日|周一到周五|每天|每日|天天|全年无休|周末|双休日|weekdays?|every ?day|daily|weekends?)"
    r"|(?P<closed>休息|不办公|不上班|闭馆|关门|停止办公|closed)"
    r"|(?P<holiday>(?:法定)?节假日(?:除外|休息|不办公)?|(?:except|excluding|closed on|not on)?\s*(?:on\s+)?"
    r"(?:public|statutory|national|bank)\s+holidays?(?:\s+excepted)?)"
    r"|(?P<filler>[\s,，、;；。.:：/&()（）\[\]【】+]+|and|from|on|办公时间|工作时间|开放时间|时间|hours|opening|office|"
    r"open|上午|下午|中午|及|和|与|至)",
    re.IGNORECASE,
)
_ZH_DAYS = {c: i for i, c in enumerate("一二三四五六日")} | {"天": 6} | {str(i + 1): i for i in range(7)}
_EN_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _day(token: str) -> int:
    token = token.strip().lower()
    if token[:3] in _EN_DAYS:
        return _EN_DAYS.index(token[:3])
    return _ZH_DAYS[token[-1]]


def _days(token: str) -> list[int]:
    """The weekdays (0 = Monday) a day token names: one day or a range (周一至周五, Mon-Fri, 周六到周日)."""
    parts = re.split(_RANGE, token.strip(), flags=re.IGNORECASE)
    if len(parts) == 1:
        return [_day(parts[0])]
    first, last = _day(parts[0]), _day(parts[-1])
    return [(first + i) % 7 for i in range((last - first) % 7 + 1)]


def _group(token: str) -> list[int]:
    token = token.lower().replace(" ", "")
    if token in ("周末", "双休日", "weekend", "weekends"):
        return [5, 6]
    if token in ("工作日", "周一到周五", "weekday", "weekdays"):
        return [0, 1, 2, 3, 4]
    return list(range(7))  # every day


def _clock(text: str) -> tuple[time, bool] | None:
    """One time of day and whether it said am/pm or 上午/下午 (None when it is not a time)."""
    text = text.strip().lower()
    match = re.fullmatch(
        r"(上午|下午|中午|晚上|早上)?\s*(\d{1,2})(?:[:.](\d{2})|点(半|(\d{1,2})分?)?)?\s*(am|pm|a\.m\.|p\.m\.)?", text
    )
    if not match:
        return None
    part, hour_text, minutes, half, point_minutes, suffix = match.groups()
    hour = int(hour_text)
    minute = int(minutes or point_minutes or (30 if half else 0))
    marked = bool(part or suffix)
    if (part in ("下午", "晚上") or (suffix or "").startswith("p")) and hour < 12:
        hour += 12
    if (suffix or "").startswith("a") and hour == 12:
        hour = 0
    if minutes is None and half is None and point_minutes is None and "点" not in text and not suffix:
        return None  # a bare number ("1-5") is not a time
    if hour > 24 or minute > 59:
        return None
    return (END_OF_DAY if hour == 24 else time(hour, minute)), marked


def _range(token: str) -> tuple[time, time] | None:
    parts = re.split(_RANGE, token.strip(), maxsplit=1, flags=re.IGNORECASE)
    if len(parts) != 2:
        return None
    start, end = _clock(parts[0]), _clock(parts[1])
    if start is None or end is None:
        return None
    (opens, _), (closes, end_marked) = start, end
    if closes <= opens and not end_marked and closes.hour < 12:
        closes = time(closes.hour + 12, closes.minute)  # "8:30-5:00" means 17:00
    return (opens, closes) if closes > opens else None


def opening_hours(text: str) -> Week | None:
    """The weekly opening hours in a staff-written text: weekday (0 = Monday) -> [(opens, closes)]; a weekday
    missing from the result is closed. None when any part of the text cannot be read (seasons, "by
    appointment", times without days): then nobody can say whether the centre is open, and the bot does not guess."""
    text = text.replace("：", ":").replace("～", "~").replace("－", "-").replace("—", "-").replace("–", "-")
    text = text.translate({ord(c): ord("0") + i for i, c in enumerate("０１２３４５６７８９")})
    week: Week = {}
    current: list[int] = []  # the days the next times belong to
    after_days = False  # the last token read named days (a list such as 周六、周日 goes on)
    seen_time = False
    at = 0
    for match in _TOKENS.finditer(text):
        if match.start() != at:
            return None  # words we cannot read
        at = match.end()
        kind, token = match.lastgroup, match.group()
        if kind in ("days", "group"):
            days = _days(token) if kind == "days" else _group(token)
            current = current + days if after_days else days
            after_days = True
            continue
        if kind == "time":
            hours = _range(token)
            if hours is None or not current:
                return None  # an unreadable time, or a time with no day named before it
            for day in current:
                week.setdefault(day, []).append(hours)
            seen_time = True
        elif kind == "closed":
            for day in current:
                week.pop(day, None)
            current = []
        if kind != "filler":
            after_days = False
    if at != len(text) or not seen_time:
        return None
    return week


# ---------- weekly hours kept structured ----------


def clock(moment: time) -> str:
    """A time of day as the town writes it: 8:30, 13:00, 24:00 for the end of the day."""
    return "24:00" if moment == END_OF_DAY else f"{moment.hour}:{moment.minute:02d}"


def _parse_clock(text: str) -> time:
    if text == "24:00":
        return END_OF_DAY
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def to_json(week: Week) -> dict[str, list[list[str]]]:
    """Weekly hours as stored: {"mon": [["8:30", "12:00"], ...], ...}, open days only, ranges in order."""
    return {
        _EN_DAYS[day]: [[clock(opens), clock(closes)] for opens, closes in sorted(week[day])]
        for day in sorted(week)
        if week[day]
    }


def from_json(data: Any) -> Week:
    """Weekly hours stored by `to_json`; ValueError when the data is not in that shape (or a range is empty)."""
    if not isinstance(data, dict):
        raise ValueError("weekly hours: expected a mapping of weekdays to time ranges")
    week: Week = {}
    for name, ranges in data.items():
        if name not in _EN_DAYS or not isinstance(ranges, list):
            raise ValueError(f"weekly hours: not a weekday or not a list of ranges: {name}")
        for pair in ranges:
            if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(v, str) for v in pair):
                raise ValueError(f"weekly hours: not a [opens, closes] pair: {pair}")
            opens, closes = _parse_clock(pair[0]), _parse_clock(pair[1])
            if closes <= opens:
                raise ValueError(f"weekly hours: closes before it opens: {pair}")
            week.setdefault(_EN_DAYS.index(name), []).append((opens, closes))
    return {day: sorted(ranges) for day, ranges in week.items()}


def runs(week: Week) -> list[tuple[list[int], list[tuple[time, time]]]]:
    """The open days in order, consecutive days with the same hours together: [([0, 1, 2, 3, 4], ranges), ...],
    so that a reply can say "Monday to Friday" once."""
    out: list[tuple[list[int], list[tuple[time, time]]]] = []
    for day in range(7):
        ranges = sorted(week.get(day) or [])
        if not ranges:
            continue
        if out and out[-1][1] == ranges and out[-1][0][-1] == day - 1:
            out[-1][0].append(day)
        else:
            out.append(([day], ranges))
    return out


def open_at(week: Week, moment: datetime) -> bool:
    """Whether the weekly hours say open at `moment` (a time in the town)."""
    return any(opens <= moment.time() < closes for opens, closes in week.get(moment.weekday(), []))


def is_open_now(hours_text: str, now: datetime) -> bool | None:
    """Whether the office hours staff typed say it is open at `now` (a time in the town); None when the text
    cannot be read as weekly hours. Public holidays cannot be known from the text: see `mentions_holidays`."""
    week = opening_hours(hours_text)
    return None if week is None else open_at(week, now)


def mentions_holidays(hours_text: str) -> bool:
    """Whether the hours say something about public holidays (which the bot cannot know are today)."""
    return bool(re.search(r"节假日|holiday", hours_text, re.IGNORECASE))


def town_now() -> datetime:
    """The time in the town now."""
    return datetime.now(TOWN_TIME)
