"""Fact sheets and candidate stories for the story evaluation set (``inference/data/eval``).

The sheets are real: simulated listeners go through the feature worker's own processor and trigger
detection (``FeatureProcessor``), and each fired trigger's fact sheet is written by
``features.facts.request``, as the worker's helper writes it. The stories are what the pipeline can
publish for a sheet: every usable template, and the base story model's candidates. Editors then
label the stories by the house style (``docs/stories.md``); nothing here labels anything.

    python -m streams.ingest.simulator.evalset sheets --out inference/data/eval/sheets.jsonl
    python -m streams.ingest.simulator.evalset stories --sheets ... --out stories-to-label.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from features import facts
from schemas.records import FactSheet
from streams.config.settings import load
from streams.ingest.simulator import Simulation, SimulationConfig
from streams.pipeline.processor import FeatureProcessor, RawMessage

WRITER_ID = 1
EVAL_SEEDS = (11, 23, 37, 51, 79)  # the simulations the evaluation's sheets come from


def split_of(sheet_id: str, heldout_share: float = 0.4) -> str:
    """A sheet's split, from its id alone: adding sheets never moves an old one."""
    h = int(hashlib.sha256(sheet_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "heldout" if h < heldout_share else "dev"


def requests_of(seed: int, users: int, events: int, days: int) -> Iterator[Any]:
    """Every story request the worker's processor fires for a simulated run."""
    from schemas.codec import Decoder, listening_event_encoder
    from schemas.contract import schema_str
    from schemas.fastread import read_listening_event_core
    from streams.ingest.simulate import encoded_days

    sim = Simulation(SimulationConfig(users=users, events=events, days=days, seed=seed))
    catalog = {t.track_id: t for t in sim.catalog.tracks}
    settings = load()
    schema = schema_str("ListeningEvent")
    decoder = Decoder(schema, lambda _id: schema, reader_id=WRITER_ID, fast_reader=read_listening_event_core)
    proc = FeatureProcessor(
        decoder,
        catalog.get,
        lambda _u, _p: None,
        config=settings.feature_config(),
        trigger_config=settings.trigger_config(),
        clock_ms=lambda: 1 << 62,
    )
    offsets: dict[int, int] = {}
    for day in encoded_days(sim, listening_event_encoder(WRITER_ID), 0, 1):
        batch = []
        for event_time, key, value in day:
            p = zlib.crc32(key) % 4
            batch.append(RawMessage("listening-events", p, offsets.get(p, 0), key, value, event_time))
            offsets[p] = offsets.get(p, 0) + 1
        for i in range(0, len(batch), 500):
            proc.process(batch[i : i + 500])
            for trigger, _appended, _ref in proc.take_requests():
                yield facts.request(trigger)


def sheets(seeds: list[int], per_kind: int, users: int, events: int, days: int) -> list[dict[str, Any]]:
    """Up to ``per_kind`` sheets of each kind, sampled evenly over the seeds, at most one per
    listener and kind per seed (so no listener dominates a kind)."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for seed in seeds:
        seen: set[tuple[str, str]] = set()
        found: dict[str, list[dict[str, Any]]] = {}
        for r in requests_of(seed, users, events, days):
            if (r.user_id, r.kind) in seen:
                continue
            seen.add((r.user_id, r.kind))
            sheet_id = f"s{seed}-{r.story_id[3:15]}"
            row = {
                "id": sheet_id,
                "kind": r.kind,
                "user": f"{seed}:{r.user_id}",
                "event_time": r.event_time,
                **r.facts.to_avro(),
            }
            found.setdefault(r.kind, []).append(row)
        rng = random.Random(seed)
        for kind, rows in found.items():
            rng.shuffle(rows)
            by_kind.setdefault(kind, []).extend(rows[: max(1, per_kind // len(seeds) + 1)])
    out = []
    for kind in sorted(by_kind):
        for row in by_kind[kind][:per_kind]:
            out.append({**row, "split": split_of(row["id"])})
    return out


def stories(rows: list[dict[str, Any]], samples: int, batch: int) -> Iterator[dict[str, Any]]:
    """Every usable template of each sheet, and ``samples`` base-model candidates (temperature 0.5,
    as the story agent samples; the rewrite-a-template prompt it uses today)."""
    from inference.generator import GENERATOR_ID, StoryModel
    from inference.prompt import Sampling
    from inference.templates import render, usable

    for row in rows:
        sheet = FactSheet.from_avro(row)
        for i, _ in usable(row["kind"], sheet):
            t = render(row["kind"], sheet, seed=i)
            if t.template_id.endswith(f"/{i}"):
                yield {"sheet": row["id"], "source": t.template_id, "text": t.text}
    model = StoryModel()
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        reqs: list[tuple[str, Any, str | None, Sampling]] = []
        for row in part:
            sheet = FactSheet.from_avro(row)
            seed = zlib.crc32(row["id"].encode())
            draft = render(row["kind"], sheet, seed).text
            reqs.append((row["kind"], sheet, draft, Sampling(n=samples, temperature=0.5, seed=seed)))
        for row, gen in zip(part, model.generate(reqs), strict=True):
            for text in dict.fromkeys(c for c in gen.candidates if c):
                yield {"sheet": row["id"], "source": GENERATOR_ID, "text": text}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m streams.ingest.simulator.evalset")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sheets")
    s.add_argument("--seeds", default=",".join(map(str, EVAL_SEEDS)))
    s.add_argument("--per-kind", type=int, default=45)
    s.add_argument("--users", type=int, default=120)
    s.add_argument("--events", type=int, default=30000)
    s.add_argument("--days", type=int, default=21)
    s.add_argument("--out", type=Path, required=True)
    t = sub.add_parser("stories")
    t.add_argument("--sheets", type=Path, required=True)
    t.add_argument("--samples", type=int, default=2)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    if a.cmd == "sheets":
        rows = sheets([int(x) for x in a.seeds.split(",")], a.per_kind, a.users, a.events, a.days)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(f"{len(rows)} sheets -> {a.out}")
    else:
        rows = [json.loads(x) for x in a.sheets.read_text(encoding="utf-8").splitlines() if x.strip()]
        n = 0
        with a.out.open("w", encoding="utf-8") as f:
            for story in stories(rows, a.samples, a.batch):
                f.write(json.dumps(story, ensure_ascii=False) + "\n")
                n += 1
        print(f"{n} stories -> {a.out}")


if __name__ == "__main__":
    main()
