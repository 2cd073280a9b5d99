"""get_time: the current time in a time zone, named as IANA does or as people do."""

from __future__ import annotations

import functools
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

# Places people name that are not the city in their IANA zone's name.
_ALIASES = {
    "local": "",
    "here": "",
    "utc": "UTC",
    "gmt": "UTC",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "las vegas": "America/Los_Angeles",
    "pacific": "America/Los_Angeles",
    "washington": "America/New_York",
    "boston": "America/New_York",
    "miami": "America/New_York",
    "eastern": "America/New_York",
    "houston": "America/Chicago",
    "dallas": "America/Chicago",
    "central": "America/Chicago",
    "beijing": "Asia/Shanghai",
    "china": "Asia/Shanghai",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "india": "Asia/Kolkata",
    "osaka": "Asia/Tokyo",
    "kyoto": "Asia/Tokyo",
    "munich": "Europe/Berlin",
    "germany": "Europe/Berlin",
    "barcelona": "Europe/Madrid",
    "spain": "Europe/Madrid",
    "milan": "Europe/Rome",
    "italy": "Europe/Rome",
    "france": "Europe/Paris",
    "england": "Europe/London",
    "uk": "Europe/London",
}


@functools.cache
def _zones() -> dict[str, str]:
    """Lower-case lookup keys → canonical zone: full names and their last part."""
    by_name: dict[str, str] = {}
    for zone in sorted(available_timezones()):
        by_name[zone.lower()] = zone
        city = zone.rsplit("/", 1)[-1].replace("_", " ").lower()
        by_name.setdefault(city, zone)
    return by_name


def resolve_timezone(name: str) -> tuple[str, tzinfo] | None:
    """(label, tzinfo) for an IANA zone, a known city or "local"; None if unknown."""
    key = " ".join(name.replace("_", " ").split()).lower()
    key = _ALIASES.get(key, key).lower()
    if not key:
        return "local", datetime.now().astimezone().tzinfo or ZoneInfo("UTC")
    zone = _zones().get(key) or _zones().get(key.replace(" ", "_"))
    return (zone, ZoneInfo(zone)) if zone else None


def get_time(timezone: str = "local") -> dict[str, Any]:
    """Get the current time and date, as asked in "What time is it in London?" or "What
    day is it?".

    Args:
        timezone: The city the user named, like "London" or "Tokyo" (or an IANA zone).
            Leave it out when they named no place.
    """
    resolved = resolve_timezone(timezone)
    if resolved is None:
        return {"error": f"I don't know the time zone {timezone!r}. "
                         "Try a big city, or a zone like Europe/Paris."}
    label, tz = resolved
    now = datetime.now(tz)
    return {
        "timezone": label,
        "time": now.strftime("%H:%M"),
        "date": f"{now:%A} {now.day} {now:%B %Y}",
        "iso": now.isoformat(timespec="seconds"),
    }
