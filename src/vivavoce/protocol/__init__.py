"""The Realtime wire protocol: event shapes, ids, errors, dialects. No I/O."""
