"""The root of every error the streams package raises on purpose.

A caller that runs any part of the pipeline can catch ``StreamsError`` for "linernotes refused or could
not do this" and let everything else (a bug) propagate.
"""


class StreamsError(Exception):
    """Something linernotes' streams package refused or could not do; the message says what."""
