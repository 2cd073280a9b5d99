"""HTTP and WebSocket surfaces of the server (FastAPI/Starlette)."""
