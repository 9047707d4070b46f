"""The story agent: story requests in, grounded stories out (see agent.py)."""
