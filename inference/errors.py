"""The project's own errors for the Triton boundary. Nothing outside inference/ sees tritonclient's."""

from __future__ import annotations


class InferenceError(Exception):
    """Base: a story could not be generated."""

    retriable = False


class Unavailable(InferenceError):
    """The server is down, not ready, or the connection failed. Retried with backoff (``StoryClient``
    says how often, by its ``retries``)."""

    retriable = True


class Timeout(InferenceError):
    """The request outlived its deadline. A caller with a retry budget gets it back at once (the
    deadline was all the time it gave); one that waits for Triton (``retries=None``) tries again."""

    retriable = True


class Overloaded(InferenceError):
    """The server refused for lack of capacity (queue full). Retried with backoff, as ``Unavailable``."""

    retriable = True


class BadRequest(InferenceError):
    """The request itself is wrong (bad fact sheet, unknown model). Never retried."""


class ModelFailed(InferenceError):
    """The model ran and failed on this request. Not retried: the caller falls back to a template."""


class CircuitOpen(InferenceError):
    """Calls are short-circuited after repeated failures, until the breaker's cool-down ends. Given back
    at once to a caller with a retry budget (failing fast is the breaker's point); waited out by one
    that waits for Triton."""

    retriable = True
