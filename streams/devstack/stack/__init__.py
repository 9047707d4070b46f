"""The local stack: real services started from pip packages, for the demo, development and tests.

Tansu (Kafka protocol), the local schema registry, Triton (python backend) and Phoenix (tracing UI).
``linernotes up``/``down``/``status`` and the pytest session fixtures all use :class:`Stack`.
"""

from streams.devstack.stack.base import Service, StackError
from streams.devstack.stack.stack import SERVICE_NAMES, Stack

__all__ = ["SERVICE_NAMES", "Service", "Stack", "StackError"]
