"""A hand-specialised Avro writer for ``StoryRequest``: the feature worker's helpers write one per
fired trigger (tens of thousands a minute in a backlog).

fastavro's generic writer walks the schema and a dict per request. This one takes the request as its fields
(``features.facts.request_fields``: no dataclasses) and keeps the encoding of each whole fact: a fact
sheet is mostly facts that recur across listeners and days ("3 tracks", an artist, "evening", a
date), so most facts are one dict lookup instead of five encodings. Its bytes are identical to
fastavro's for the current schema (``tests/unit/test_fastpath.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.fastpath import _FINAL14, _double, _long, _name, _names, avro_string
from schemas.records import FACT_TYPES, STORY_KINDS, StoryRequest

MAX_FACTS_CACHED = 200_000  # distinct facts kept (then the cache starts over)

FactFields = tuple[str, str, str, float | None, str | None]  # name, type, value, number, unit

_STORY_KIND = {k: _long(i) for i, k in enumerate(STORY_KINDS)}
_FACT_TYPE = {t: _long(i) for i, t in enumerate(FACT_TYPES)}


def _fact(fact: FactFields) -> bytes:
    name, type_, value, number, unit = fact
    return b"".join(
        (
            _name(name),
            _FACT_TYPE[type_],
            _name(value),
            b"\x00" if number is None else b"\x02" + _double(number),
            b"\x00" if unit is None else b"\x02" + _name(unit),
        )
    )


class StoryRequestWriter:
    """``StoryRequest`` records in the Confluent wire format, from their fields or a record."""

    def __init__(self, schema_id: int) -> None:
        self.header = b"\x00" + schema_id.to_bytes(4, "big")
        self._facts: dict[FactFields, bytes] = {}

    def encode(self, r: StoryRequest) -> bytes:
        rows = [(f.name, f.type, f.value, f.number, f.unit) for f in r.facts.facts]
        return self.encode_fields(
            r.story_id, r.user_id, r.kind, r.trigger_key, r.event_time, r.facts.key_fact, rows, r.seed
        )

    def encode_fields(
        self,
        story_id: str,
        user_id: str,
        kind: str,
        trigger_key: str,
        event_time: int,
        key_fact: str,
        facts: Sequence[FactFields],
        seed: int,
    ) -> bytes:
        # (avro_string and _name spelled out for the usual short strings: a Python call would cost
        # about as much as all of this)
        sid, uid, key = story_id.encode(), user_id.encode(), trigger_key.encode()
        n_sid, n_uid, n_key = len(sid) << 1, len(uid) << 1, len(key) << 1
        if n_sid < 0x4000 and n_uid < 0x4000 and n_key < 0x4000:
            final = _FINAL14
            parts = [
                self.header,
                final[n_sid],
                sid,
                final[n_uid],
                uid,
                _STORY_KIND[kind],
                final[n_key],
                key,
                _long(event_time),
                _names.get(key_fact) or _name(key_fact),
            ]
        else:
            parts = [
                self.header,
                avro_string(story_id),
                avro_string(user_id),
                _STORY_KIND[kind],
                avro_string(trigger_key),
                _long(event_time),
                _name(key_fact),
            ]
        if facts:  # an Avro array: a block of len(facts) items, then an empty block
            parts.append(_long(len(facts)))
            cache = self._facts
            for fact in facts:
                b = cache.get(fact)
                if b is None:
                    b = _fact(fact)
                    number = fact[3]
                    # (0.0 == -0.0, and they encode differently: a zero is not cached, nor is a NaN)
                    if number is None or number > 0.0 or number < 0.0:
                        if len(cache) >= MAX_FACTS_CACHED:
                            cache.clear()
                        cache[fact] = b
                parts.append(b)
        parts.append(b"\x00")
        parts.append(_long(seed))
        return b"".join(parts)
