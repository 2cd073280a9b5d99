"""Shared plumbing for clients of OpenAI-compatible HTTP servers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from .base import EngineError


class Endpoint:
    """One base URL (e.g. http://localhost:11434/v1) with auth and pooled connections.

    `timeout` bounds each wait: connecting, and each read of a streamed body, so a
    server that hangs fails the request instead of holding it (and its thread) forever.
    """

    def __init__(self, base_url: str, api_key: str | None, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout)

    def _safe(self, text: str) -> str:
        # A server may quote the key it was sent in its error: never pass it on.
        return text.replace(self._api_key, "***") if self._api_key else text

    @contextmanager
    def post(self, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """POST and hand back the response unread, so bodies can be streamed.

        Transport failures and non-2xx answers become EngineError.
        """
        url = self.base_url + path
        try:
            with self._client.stream("POST", url, **kwargs) as response:
                if not response.is_success:
                    response.read()
                    raise EngineError(self._safe(
                        f"POST {url} returned {response.status_code} "
                        f"{response.reason_phrase}: {_error_text(response)}"))
                yield response
        except httpx.HTTPError as e:
            raise EngineError(self._safe(f"POST {url} failed: {e!r}")) from e


def _error_text(response: httpx.Response) -> str:
    # OpenAI-style servers answer {"error": {"message": ...}}; others send text.
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:500]
