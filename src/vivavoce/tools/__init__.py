"""Server-executed tools: a registry built from type hints, and the built-in tools."""

from .registry import ToolContext, ToolError, ToolRegistry

__all__ = ["ToolContext", "ToolError", "ToolRegistry"]
