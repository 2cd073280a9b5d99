"""Engines: small interfaces in `base`, one module per implementation (imported on demand,
so unused runtimes such as llama-cpp-python need not be installed)."""
