"""Replay reads history through the same processor as the live worker, and waits out a registry outage
the same way: the events are applied once the registry answers, none is a dead letter."""

import json

from schemas import RegistryUnavailable, schema_str
from schemas.codec import Decoder, Encoder
from schemas.fastread import read_listening_event_core
from streams.history.replay import Replay
from streams.pipeline.processor import FeatureProcessor
from tests.unit.streams.pipeline.test_processor import CATALOG, NOW, ev, msg


def test_a_registry_outage_during_a_replay_is_waited_out() -> None:
    newer = json.loads(schema_str("ListeningEvent"))
    newer["fields"] = [*newer["fields"], {"name": "mood", "type": ["null", "string"], "default": None}]
    down = [2]

    def lookup(_id: int) -> str:
        if down[0]:
            down[0] -= 1
            raise RegistryUnavailable("503 Service Unavailable")
        return json.dumps(newer)

    decoder = Decoder(schema_str("ListeningEvent"), lookup, reader_id=1, fast_reader=read_listening_event_core)
    replay = Replay.__new__(Replay)
    replay.processor = FeatureProcessor(decoder, CATALOG.get, lambda _u, _p: None, clock_ms=lambda: NOW)
    enc = Encoder(newer, 7)
    dead = replay._process([msg(i, enc.encode({**ev(i), "mood": None})) for i in range(3)])
    assert dead == [] and down == [0]
    assert replay.processor.stats.applied == 3 and replay.processor.stats.messages == 3
