"""History: replay and backfill from a topic or a file, point-in-time lookups, replay/live parity."""
