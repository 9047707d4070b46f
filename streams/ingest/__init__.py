"""Getting listening events in: the listener simulator and the Spotify streaming-history import."""
