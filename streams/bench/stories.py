"""``linernotes bench stories``: story throughput and latency through Triton, dynamic batching on vs off.

The bench starts its own Triton on free ports, over a temporary copy of the model repository that
holds the story model twice: ``story_generator`` as shipped (dynamic batching on) and
``story_generator_nobatch`` (the same model, the ``dynamic_batching`` block removed, so Triton runs each
request alone). Both are measured in the same run, at concurrency 1 and ``--concurrency`` (32), with
the same fact sheets and seeds; the gain is throughput(batched) / throughput(unbatched) at 32.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inference import golden
from inference.client import StoryClient
from inference.eval.metrics import percentile
from inference.writer import StoryWriter, WriterConfig
from schemas.records import StoryRequest
from streams.config.settings import Settings
from streams.devstack.stack.base import free_port
from streams.devstack.stack.services import TritonService

UNBATCHED = "story_generator_nobatch"


def make_repository(src: Path, dest: Path) -> None:
    shutil.copytree(src / "story_generator", dest / "story_generator")
    shutil.copytree(src / "story_generator", dest / UNBATCHED)
    config = _without_block((dest / UNBATCHED / "config.pbtxt").read_text(), "dynamic_batching")
    config = config.replace('name: "story_generator"', f'name: "{UNBATCHED}"')
    (dest / UNBATCHED / "config.pbtxt").write_text(config)


def _without_block(config: str, name: str) -> str:
    """``config`` (protobuf text) without the block ``name { ... }``, nested blocks and all."""
    m = re.search(name + r"\s*\{", config)
    if m is None:
        return config
    depth, end = 0, m.end() - 1
    for end in range(m.end() - 1, len(config)):
        depth += {"{": 1, "}": -1}.get(config[end], 0)
        if depth == 0:
            break
    return config[: m.start()] + config[end + 1 :].removeprefix("\n")


async def _measure(
    url: str, model: str, requests: list[StoryRequest], concurrency: int, cfg: WriterConfig
) -> dict[str, Any]:
    async with StoryClient(url=url, model=model, timeout_s=600) as client:
        await client.wait_ready(model=model)
        writer = StoryWriter(client, cfg)
        await writer.write(requests[0], 0)  # warm-up: first call pays for lazy init
        sem = asyncio.Semaphore(concurrency)
        latencies: list[float] = []
        model_written = 0
        devices: set[str] = set()

        async def one(r: StoryRequest) -> None:
            nonlocal model_written
            async with sem:
                t0 = time.perf_counter()
                w = await writer.write(r, 0)
                latencies.append((time.perf_counter() - t0) * 1000)
                model_written += w.model_written
                devices.update(g.device for g in w.generations)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(r) for r in requests))
        wall = time.perf_counter() - t0
    return {
        "stories_per_s": len(requests) / wall,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "model_accept_rate": model_written / len(requests),
        "device": ",".join(sorted(devices)),
    }


def run(
    settings: Settings, *, stories: int, concurrency: int, candidates: int, report: Callable[[str], None]
) -> dict[str, Any]:
    cases = golden.load()
    requests = [
        StoryRequest(f"bench-{i}", "bench", c.kind, c.id, 0, c.sheet, seed=i)
        for i, c in enumerate(cases[i % len(cases)] for i in range(stories))
    ]
    # One model call per story; with more than one candidate the writer ranks them, as the agent does.
    cfg = WriterConfig(candidates=candidates, regenerations=0, max_new_tokens=32)
    with tempfile.TemporaryDirectory(prefix="linernotes-bench-stories-") as tmp:
        repo = Path(tmp) / "models"
        make_repository(settings.model_repository.resolve(), repo)
        ports = [free_port(), free_port(), free_port()]
        triton = TritonService(
            "triton",
            Path(tmp) / "run",
            ports,
            model_repository=repo,
            http_port=ports[0],
            grpc_port=ports[1],
            metrics_port=ports[2],
            shm_prefix=f"linernotes_bench_{ports[0]}_",
        )
        report("bench stories: starting a private Triton with the batched and unbatched model...")
        triton.start(settings.stack_timeout_s + 120)
        try:
            url = f"127.0.0.1:{ports[1]}"
            out: dict[str, Any] = {}
            for label, model, conc, n in (
                ("batched_c1", "story_generator", 1, max(4, stories // 8)),
                ("batched", "story_generator", concurrency, stories),
                ("unbatched", UNBATCHED, concurrency, stories),
            ):
                report(f"bench stories: {label}: {n} stories at concurrency {conc}...")
                out[label] = asyncio.run(_measure(url, model, requests[:n], conc, cfg))
                report(f"  {out[label]['stories_per_s']:.2f} stories/s, p99 {out[label]['p99_ms']:.0f} ms")
        finally:
            triton.stop()
    b, u, one = out["batched"], out["unbatched"], out["batched_c1"]
    return {
        "stories": stories,
        "concurrency": concurrency,
        "stories_per_s_batched": round(b["stories_per_s"], 3),
        "stories_per_s_unbatched": round(u["stories_per_s"], 3),
        "batching_gain": round(b["stories_per_s"] / u["stories_per_s"], 2),
        "p50_ms_batched": round(b["p50_ms"]),
        "p99_ms_batched": round(b["p99_ms"]),
        "p99_ms_unbatched": round(u["p99_ms"]),
        "stories_per_s_c1": round(one["stories_per_s"], 3),
        "p50_ms_c1": round(one["p50_ms"]),
        "p99_ms_c1": round(one["p99_ms"]),
        "model_accept_rate": round((b["model_accept_rate"] + u["model_accept_rate"]) / 2, 3),
        "max_new_tokens": cfg.max_new_tokens,
        "candidates": candidates,
        "device": b["device"],
    }
