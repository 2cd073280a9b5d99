"""get_weather against a local server speaking Open-Meteo's documented JSON."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from vivavoce.tools import ToolContext, weather
from vivavoce.tools.builtin import registry
from vivavoce.tools.weather import get_weather

# Shapes as documented at open-meteo.com/en/docs/geocoding-api and /en/docs.
PLACES = {
    "tokyo": {
        "id": 1850147, "name": "Tokyo", "latitude": 35.6895, "longitude": 139.69171,
        "elevation": 44.0, "feature_code": "PPLC", "country_code": "JP", "admin1_id": 1850144,
        "timezone": "Asia/Tokyo", "population": 8336599, "country_id": 1861060,
        "country": "Japan", "admin1": "Tokyo",
    },
    "paris": {
        "id": 2988507, "name": "Paris", "latitude": 48.85341, "longitude": 2.3488,
        "elevation": 42.0, "feature_code": "PPLC", "country_code": "FR", "admin1_id": 3012874,
        "timezone": "Europe/Paris", "population": 2138551, "country_id": 3017382,
        "country": "France", "admin1": "Île-de-France",
    },
    "paris texas": {
        "id": 4717560, "name": "Paris", "latitude": 33.66094, "longitude": -95.55551,
        "elevation": 180.0, "feature_code": "PPLA2", "country_code": "US", "admin1_id": 4736286,
        "timezone": "America/Chicago", "population": 24782, "country_id": 6252001,
        "country": "United States", "admin1": "Texas",
    },
}
CURRENT = {  # by latitude
    35.6895: {"temperature_2m": 21.3, "relative_humidity_2m": 64, "apparent_temperature": 20.6,
              "weather_code": 2, "wind_speed_10m": 11.9},
    33.66094: {"temperature_2m": 30.0, "relative_humidity_2m": 40, "apparent_temperature": 30.2,
               "weather_code": 61, "wind_speed_10m": 5.0},
}


class OpenMeteo(BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.requests.append((url.path, query))
        if url.path == "/v1/search":
            self._search(query)
        elif url.path == "/v1/forecast":
            self._forecast(query)
        else:
            self._send(404, {"error": True, "reason": "Not Found"})

    def _search(self, query: dict[str, str]) -> None:
        name = query.get("name", "").lower()
        matches = [p for key, p in PLACES.items() if key.split()[0] == name]
        body: dict = {"generationtime_ms": 0.7}
        if matches:  # Open-Meteo leaves "results" out when nothing matches
            body["results"] = matches[: int(query.get("count", 10))]
        self._send(200, body)

    def _forecast(self, query: dict[str, str]) -> None:
        try:
            latitude, longitude = float(query["latitude"]), float(query["longitude"])
        except (KeyError, ValueError):
            self._send(400, {"error": True, "reason": "Parameter 'latitude' is required"})
            return
        fields = query["current"].split(",")
        values = CURRENT[latitude]
        units = {"temperature_2m": "°C", "relative_humidity_2m": "%",
                 "apparent_temperature": "°C", "weather_code": "wmo code",
                 "wind_speed_10m": "km/h"}
        self._send(200, {
            "latitude": latitude, "longitude": longitude, "generationtime_ms": 0.05,
            "utc_offset_seconds": 32400, "timezone": "Asia/Tokyo",
            "timezone_abbreviation": "GMT+9", "elevation": 40.0,
            "current_units": {"time": "iso8601", "interval": "seconds",
                              **{f: units[f] for f in fields}},
            "current": {"time": "2026-11-21T14:00", "interval": 900,
                        **{f: values[f] for f in fields}},
        })

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def open_meteo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), OpenMeteo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def weather_service(open_meteo: str, monkeypatch: pytest.MonkeyPatch) -> list:
    monkeypatch.setenv("VIVAVOCE_OPEN_METEO_GEOCODING_URL", open_meteo)
    monkeypatch.setenv("VIVAVOCE_OPEN_METEO_FORECAST_URL", open_meteo + "/")
    OpenMeteo.requests.clear()
    return OpenMeteo.requests


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_weather_in_a_city(weather_service: list) -> None:
    report = await get_weather("Tokyo")
    assert report == {
        "city": "Tokyo", "country": "Japan", "temperature_c": 21, "feels_like_c": 21,
        "conditions": "partly cloudy", "humidity_percent": 64, "wind_kmh": 12,
        "summary": "In Tokyo, Japan right now: partly cloudy; 21 degrees Celsius; "
                   "wind 12 kilometres per hour.",
    }
    (search_path, search), (forecast_path, forecast) = weather_service
    assert search_path == "/v1/search"
    assert search == {"name": "Tokyo", "count": "1", "language": "en", "format": "json"}
    assert forecast_path == "/v1/forecast"
    assert forecast == {
        "latitude": "35.6895", "longitude": "139.69171", "timezone": "auto",
        "current": "temperature_2m,relative_humidity_2m,apparent_temperature,weather_code,"
                   "wind_speed_10m",
    }


async def test_qualified_city_picks_the_matching_place(weather_service: list) -> None:
    report = await get_weather("Paris, Texas")
    assert (report["city"], report["country"], report["conditions"]) == (
        "Paris", "United States", "light rain")
    assert report["summary"].startswith("In Paris, United States right now: light rain; "
                                        "30 degrees Celsius; wind 5")
    assert weather_service[0][1]["name"] == "Paris"
    assert weather_service[0][1]["count"] == "10"


async def test_unknown_city(weather_service: list) -> None:
    assert await get_weather("Atlantis") == {"error": "I couldn't find a place called Atlantis."}
    assert len(weather_service) == 1  # no forecast request for nowhere


async def test_offline_gives_an_honest_answer_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIVAVOCE_OPEN_METEO_GEOCODING_URL", f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    report = await get_weather("Tokyo")
    assert report == {"error": "I can't reach the weather service right now, "
                               "so I don't know the weather in Tokyo."}
    assert time.monotonic() - started < 5


async def test_a_silent_service_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    # Accepts connections and never answers: only the timeout can end the wait.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        monkeypatch.setenv("VIVAVOCE_OPEN_METEO_GEOCODING_URL",
                           f"http://127.0.0.1:{listener.getsockname()[1]}")
        monkeypatch.setattr(weather, "TIMEOUT_S", 0.5)
        started = time.monotonic()
        report = await get_weather("Tokyo")
    assert report["error"].startswith("I can't reach the weather service right now")
    assert time.monotonic() - started < 2


async def test_through_the_registry(weather_service: list) -> None:
    output = await registry.call("get_weather", '{"city": "Tokyo"}', ToolContext("s", {}))
    assert json.loads(output)["conditions"] == "partly cloudy"
    assert "°" not in output and "Japan" in output
