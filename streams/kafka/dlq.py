"""Dead letters: what a ``*.dlq`` record carries besides the original key and value bytes.

Every dead-letter topic uses these headers, so one tool (or person) can read any of them: why the
record was refused, and where it came from, to re-drive it once the cause is fixed.
"""

from __future__ import annotations

REASON = "dlq.reason"
SOURCE_TOPIC = "dlq.source.topic"
SOURCE_PARTITION = "dlq.source.partition"
SOURCE_OFFSET = "dlq.source.offset"
SOURCE_TIMESTAMP = "dlq.source.timestamp"
SCHEMA_ID = "dlq.schema.id"


def dead_letter_headers(
    reason: str,
    *,
    topic: str,
    partition: int,
    offset: int,
    timestamp: int | None = None,
    schema_id: int | None = None,
) -> list[tuple[str, bytes]]:
    """Headers of a dead letter: the reason, then the source position (and the writer's schema id
    when the bytes named one)."""
    headers = [
        (REASON, reason.encode()),
        (SOURCE_TOPIC, topic.encode()),
        (SOURCE_PARTITION, str(partition).encode()),
        (SOURCE_OFFSET, str(offset).encode()),
    ]
    if timestamp is not None:
        headers.append((SOURCE_TIMESTAMP, str(timestamp).encode()))
    if schema_id is not None:
        headers.append((SCHEMA_ID, str(schema_id).encode()))
    return headers
