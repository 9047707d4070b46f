"""What the served story model publishes for the evaluation's sheets, through the real story writer."""

from __future__ import annotations

import asyncio

from inference.writer import StoryWriter
from schemas.records import StoryRequest

from .published import Published, judge, labels_of
from .sets import EvalSet


async def served_pipeline(writer: StoryWriter, es: EvalSet, concurrency: int = 32) -> list[Published]:
    labels = labels_of(es)
    gate = asyncio.Semaphore(concurrency)

    async def one(sid: str) -> Published:
        sheet = es.sheets[sid]
        request = StoryRequest(f"eval-{sid}", sheet.user, sheet.kind, sid, sheet.event_time, sheet.sheet, seed=0)
        async with gate:
            w = await writer.write(request, now_ms=0)
        return Published(sheet, w.story.text, w.model_written, judge(labels, sheet, w.story.text))

    return list(await asyncio.gather(*(one(sid) for sid in sorted(es.sheets))))
