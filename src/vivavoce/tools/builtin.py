"""The default registry: the tools vivavoce ships with."""

from __future__ import annotations

from .clock import get_time
from .escape_room import unlock_door
from .phone import end_call
from .registry import ToolRegistry
from .weather import TIMEOUT_S as _WEATHER_TIMEOUT_S
from .weather import get_weather

registry = ToolRegistry()
# get_weather bounds its own requests and answers "can't reach the service";
# the registry's timeout is only a backstop above that.
registry.tool(get_weather, timeout=_WEATHER_TIMEOUT_S + 2)
registry.tool(get_time, timeout=2.0)
registry.tool(unlock_door, timeout=2.0)
registry.tool(end_call, timeout=2.0)
