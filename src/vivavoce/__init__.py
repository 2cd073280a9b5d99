"""vivavoce: a self-hosted real-time voice assistant speaking the OpenAI Realtime protocol."""

__version__ = "0.1.0"
