"""Which tools a model is offered when both the client and the server have some."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Tool = dict[str, Any]


def offer(client_tools: list[Any], server_tools: Mapping[str, Tool]
          ) -> tuple[list[Any], frozenset[str]]:
    """The client's tools, then the server's that the client did not shadow with a tool of
    the same name (the client answers calls to its own tools); and the names of the
    server's tools among them, the calls the server runs itself."""
    # A relay passes the client's tools on unparsed: a name may be anything.
    mine = {name for t in client_tools if isinstance(t, dict)
            and isinstance(name := t.get("name"), str)}
    served = frozenset(name for name in server_tools if name not in mine)
    return client_tools + [t for name, t in server_tools.items() if name in served], served
