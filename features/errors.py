"""One exception root for the feature package."""


class FeatureError(Exception):
    """Root of every error raised by :mod:`features`."""
