"""`vivavoce bench`: a voice-to-voice load generator that acts like a user."""
