"""The conversation state machine: client events and brain output in, server events out."""
