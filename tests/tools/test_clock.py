"""get_time: IANA zones, city names, "local", and honest errors."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from vivavoce.tools.clock import get_time


@pytest.mark.parametrize(("asked", "zone"), [
    ("Asia/Tokyo", "Asia/Tokyo"),
    ("europe/paris", "Europe/Paris"),
    ("Tokyo", "Asia/Tokyo"),
    ("new york", "America/New_York"),
    ("San Francisco", "America/Los_Angeles"),
    ("UTC", "UTC"),
])
def test_time_in_a_zone(asked: str, zone: str) -> None:
    result = get_time(asked)
    assert result["timezone"] == zone
    now = datetime.fromisoformat(result["iso"])
    expected = datetime.now(ZoneInfo(zone))
    assert now.utcoffset() == expected.utcoffset()
    assert abs((expected - now).total_seconds()) < 60
    assert result["time"] == f"{now:%H:%M}"
    assert result["date"] == f"{now:%A} {now.day} {now:%B %Y}"


def test_local_time() -> None:
    result = get_time()
    assert result["timezone"] == "local"
    local = datetime.now().astimezone()
    assert datetime.fromisoformat(result["iso"]).utcoffset() == local.utcoffset()


def test_unknown_zone() -> None:
    result = get_time("Narnia")
    assert set(result) == {"error"}
    assert "Narnia" in result["error"]
