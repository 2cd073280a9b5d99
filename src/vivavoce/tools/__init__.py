"""Server-executed tools: a registry built from type hints, and the built-in tools."""

from .offer import offer
from .registry import ToolContext, ToolError, ToolRegistry

__all__ = ["ToolContext", "ToolError", "ToolRegistry", "offer"]
