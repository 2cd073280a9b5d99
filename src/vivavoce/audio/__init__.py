"""Audio formats and resampling shared by the session and the engines."""
