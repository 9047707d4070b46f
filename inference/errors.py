"""The project's own errors for the Triton boundary. Nothing outside inference/ sees tritonclient's."""

from __future__ import annotations


class InferenceError(Exception):
    """Base: a story could not be generated."""

    retriable = False


class Unavailable(InferenceError):
    """The server is down, not ready, or the connection failed. Retried with backoff."""

    retriable = True


class Timeout(InferenceError):
    """The request outlived its deadline. Retried with backoff."""

    retriable = True


class Overloaded(InferenceError):
    """The server refused for lack of capacity (queue full). Retried with backoff."""

    retriable = True


class BadRequest(InferenceError):
    """The request itself is wrong (bad fact sheet, unknown model). Never retried."""


class ModelFailed(InferenceError):
    """The model ran and failed on this request. Not retried: the caller falls back to a template."""


class CircuitOpen(InferenceError):
    """Calls are short-circuited after repeated failures, until the breaker's cool-down ends."""

    retriable = True
