"""get_weather: current conditions from Open-Meteo (free, no key).

Two requests: the geocoding API turns the city into coordinates, the forecast
API gives the current conditions there. Failures come back as an `error` the
assistant can say out loud, never as an exception: "I can't reach the weather
service" is an honest answer; a made-up forecast is not.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import httpx

log = logging.getLogger(__name__)

GEOCODING_URL = "https://geocoding-api.open-meteo.com"
FORECAST_URL = "https://api.open-meteo.com"
# Both requests together: a voice answer cannot wait longer than this.
TIMEOUT_S = 4.0

_CURRENT = "temperature_2m,relative_humidity_2m,apparent_temperature,weather_code,wind_speed_10m"

# Open-Meteo's subset of the WMO weather interpretation codes, in spoken words.
WMO_CODES = {
    0: "clear sky",
    1: "mainly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "freezing fog",
    51: "light drizzle",
    53: "drizzle",
    55: "heavy drizzle",
    56: "light freezing drizzle",
    57: "heavy freezing drizzle",
    61: "light rain",
    63: "rain",
    65: "heavy rain",
    66: "light freezing rain",
    67: "heavy freezing rain",
    71: "light snow",
    73: "snow",
    75: "heavy snow",
    77: "snow grains",
    80: "light rain showers",
    81: "rain showers",
    82: "violent rain showers",
    85: "light snow showers",
    86: "heavy snow showers",
    95: "a thunderstorm",
    96: "a thunderstorm with light hail",
    99: "a thunderstorm with heavy hail",
}


class _Unreadable(Exception):
    """The service answered, but not with what its documentation promises."""


async def get_weather(city: str) -> dict[str, Any]:
    """Get the current weather in a city, as asked in "Is it raining in Tokyo?" or "Do I
    need a coat in Oslo?".

    Args:
        city: The city name, like "Tokyo" or "Oslo".
    """
    # "Paris, France": the geocoder matches names only, so search the name and
    # use the rest to choose among the places called that.
    name, _, qualifier = (part.strip() for part in city.partition(","))
    if not name:
        return {"error": "Which city do you want the weather for?"}
    try:
        async with asyncio.timeout(TIMEOUT_S), httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            place = await _geocode(client, name, qualifier)
            if place is None:
                return {"error": f"I couldn't find a place called {city}."}
            current = await _current(client, place["latitude"], place["longitude"])
        return _report(place, current)
    except (httpx.TransportError, TimeoutError) as exc:
        log.info("weather service unreachable: %r", exc)
        return {"error": f"I can't reach the weather service right now, "
                         f"so I don't know the weather in {city}."}
    except (httpx.HTTPStatusError, _Unreadable, ValueError, KeyError, TypeError) as exc:
        log.warning("weather service answered badly: %r", exc)
        return {"error": f"The weather service isn't answering properly right now, "
                         f"so I don't know the weather in {city}."}


async def _geocode(client: httpx.AsyncClient, name: str, qualifier: str) -> dict | None:
    base = os.environ.get("VIVAVOCE_OPEN_METEO_GEOCODING_URL", GEOCODING_URL).rstrip("/")
    params = {"name": name, "count": 10 if qualifier else 1, "language": "en", "format": "json"}
    response = await client.get(f"{base}/v1/search", params=params)
    response.raise_for_status()
    results = response.json().get("results") or []  # no match: the key is absent
    if qualifier:
        wanted = qualifier.lower()
        matching = [r for r in results if wanted in (
            str(r.get("country", "")).lower(), str(r.get("admin1", "")).lower(),
            str(r.get("country_code", "")).lower())]
        results = matching or results
    return results[0] if results else None


async def _current(client: httpx.AsyncClient, latitude: float, longitude: float) -> dict:
    base = os.environ.get("VIVAVOCE_OPEN_METEO_FORECAST_URL", FORECAST_URL).rstrip("/")
    params = {"latitude": latitude, "longitude": longitude, "current": _CURRENT,
              "timezone": "auto"}
    response = await client.get(f"{base}/v1/forecast", params=params)
    response.raise_for_status()
    body = response.json()
    current = body.get("current")
    if not isinstance(current, dict):
        raise _Unreadable(f"no 'current' in forecast: {body!r:.200}")
    units = body.get("current_units") or {}
    # We ask for the default units; refuse to mislabel if the service changes them.
    if units.get("temperature_2m", "°C") != "°C" or units.get("wind_speed_10m", "km/h") != "km/h":
        raise _Unreadable(f"unexpected units: {units!r}")
    return current


def _report(place: dict, current: dict) -> dict[str, Any]:
    """A compact answer, rounded the way people say weather, plus a sentence to speak."""

    def whole(key: str) -> int | None:
        value = current.get(key)
        return None if value is None else round(value)

    report: dict[str, Any] = {
        "city": place.get("name"),
        "country": place.get("country"),
        "temperature_c": whole("temperature_2m"),
        "feels_like_c": whole("apparent_temperature"),
        "conditions": WMO_CODES.get(current.get("weather_code", -1)),
        "humidity_percent": whole("relative_humidity_2m"),
        "wind_kmh": whole("wind_speed_10m"),
    }
    report = {k: v for k, v in report.items() if v is not None}
    if "temperature_c" not in report:
        raise _Unreadable(f"no temperature in {current!r:.200}")
    report["summary"] = _sentence(report)
    return report


def _sentence(r: dict[str, Any]) -> str:
    """One sentence in words a TTS voice reads well (no "°C", no "km/h")."""
    where = ", ".join(p for p in (r.get("city"), r.get("country")) if p)
    parts = []
    if "conditions" in r:
        parts.append(r["conditions"])
    temp = f"{r['temperature_c']} degrees Celsius"
    if r.get("feels_like_c") not in (None, r["temperature_c"]):
        temp += f", feeling like {r['feels_like_c']}"
    parts.append(temp)
    if "wind_kmh" in r:
        parts.append(f"wind {r['wind_kmh']} kilometres per hour")
    return f"In {where} right now: {'; '.join(parts)}."
