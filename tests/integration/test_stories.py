"""The story model served by the real Triton: every kind, grounded; the fallbacks; the client's errors."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

from inference import golden
from inference.client import CircuitBreaker, StoryClient, translate
from inference.errors import BadRequest, CircuitOpen, Timeout, Unavailable
from inference.factsheet import to_json
from inference.grounding import check
from inference.prompt import Sampling
from inference.writer import StoryWriter, WriterConfig
from schemas.records import Fact, FactSheet, StoryRequest
from streams.config.settings import Settings
from streams.devstack.stack import Stack
from streams.devstack.stack.base import free_port

pytestmark = pytest.mark.integration
CASES = golden.load()


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def request(case: golden.GoldenCase, seed: int = 0) -> StoryRequest:
    return StoryRequest(f"t-{case.id}-{seed}", "u1", case.kind, case.id, 1_700_000_000_000, case.sheet, seed=seed)


def test_a_grounded_story_for_every_kind(triton: Stack, stack_settings: Settings) -> None:
    firsts = {c.kind: c for c in reversed(CASES)}  # one case per kind

    async def go() -> list:  # type: ignore[type-arg]
        async with StoryClient(url=stack_settings.triton_url, timeout_s=300) as client:
            await client.wait_ready(timeout_s=120)
            writer = StoryWriter(client)
            return await asyncio.gather(*(writer.write(request(c), now_ms=5) for c in firsts.values()))

    written = run(go())
    assert {w.story.kind for w in written} == set(firsts)
    for case, w in zip(firsts.values(), written, strict=True):
        assert w.story.grounded, (case.id, w.story.text, w.report.summary())
        assert check(w.story.text, case.sheet, case.kind).grounded  # re-checked from scratch
        assert case.sheet.key_fact in w.story.facts_used
        assert w.story.story_id == f"t-{case.id}-0" and w.story.created_at == 5
        assert w.generations, "the model was asked"
        assert {g.device for g in w.generations} == {"cpu"}, "the local stack's instance is KIND_CPU"
        if w.model_written:
            assert w.story.generator.startswith("story_generator/")
        else:
            assert w.story.generator.startswith("template:") and w.rejected


def test_fallback_when_the_model_gets_it_wrong(triton: Stack, stack_settings: Settings) -> None:
    # A sheet with names and numbers the model has no reason to copy, sampled hot: the model's texts fail.
    sheet = FactSheet(
        "play_count",
        (Fact("play_count", "NUMBER", "1,337 plays", 1337.0, "play"), Fact("artist", "ARTIST", "Zqx Vortal")),
    )
    req = StoryRequest("t-fallback", "u1", "MILESTONE", "k", 0, sheet, seed=3)
    cfg = WriterConfig(candidates=3, regenerations=1, temperature=2.0, top_p=1.0, max_new_tokens=24)

    async def go():  # type: ignore[no-untyped-def]
        async with StoryClient(url=stack_settings.triton_url, timeout_s=300) as client:
            return await StoryWriter(client, cfg).write(req, now_ms=0)

    w = run(go())
    assert len(w.generations) == 2 and len(w.rejected) == 6, "three candidates, then three more, all rejected"
    assert all(r.reason != "grounded" for r in w.rejected)
    assert w.story.generator.startswith("template:milestone/") and w.story.grounded
    assert "1,337 plays" in w.story.text and "Zqx Vortal" in w.story.text


def test_same_seed_same_text_whatever_the_batch(triton: Stack, stack_settings: Settings) -> None:
    case = CASES[0]

    async def go():  # type: ignore[no-untyped-def]
        async with StoryClient(url=stack_settings.triton_url, timeout_s=300) as client:
            s = Sampling(n=1, seed=11, max_new_tokens=16)
            alone = await client.generate(case.kind, case.sheet, s, draft="A draft.")
            crowd = await asyncio.gather(
                *(
                    client.generate(case.kind, case.sheet, Sampling(n=1, seed=i, max_new_tokens=16), draft="A draft.")
                    for i in range(6)
                ),
                client.generate(case.kind, case.sheet, s, draft="A draft."),
            )
            return alone, crowd[-1]

    alone, batched = run(go())
    assert alone.raw == batched.raw


def test_bad_request_is_typed_and_not_retried(triton: Stack, stack_settings: Settings) -> None:
    async def go() -> None:
        async with StoryClient(url=stack_settings.triton_url, retries=3) as client:
            with pytest.raises(BadRequest, match="bad request"):
                await client._call(
                    "story_generator", [("FACT_SHEET", b"not json"), ("PARAMS", b"{}")], "CANDIDATES", None
                )
            assert client.breaker.state == "closed"
            with pytest.raises(BadRequest):
                await StoryWriter(client).write(
                    StoryRequest("x", "u", "SESSION_RECAP", "k", 0, FactSheet("minutes", ())), now_ms=0
                )

    run(go())


def test_unreachable_triton_retries_then_opens_the_circuit() -> None:
    async def go() -> None:
        breaker = CircuitBreaker(failures_to_open=4, reset_s=60)
        async with StoryClient(
            url=f"127.0.0.1:{free_port()}", retries=2, backoff_s=0.01, timeout_s=2, breaker=breaker
        ) as client:
            with pytest.raises(Unavailable):
                await client.generate("OTHER", CASES[0].sheet, Sampling())
            assert breaker.failures == 3 and breaker.state == "closed"  # 1 try + 2 retries
            with pytest.raises((Unavailable, CircuitOpen)):
                await client.generate("OTHER", CASES[0].sheet, Sampling())
            assert breaker.state == "open"
            with pytest.raises(CircuitOpen):
                await client.generate("OTHER", CASES[0].sheet, Sampling())
            assert not await client.ready()

    run(go())


def test_eval_cli_reports_the_served_models_figures(triton: Stack, stack_settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`linernotes eval --served` writes a story for each held-out sheet through the real writer and Triton."""
    shipped = resources.files("inference") / "data" / "eval"
    sheets = [json.loads(x) for x in (shipped / "sheets.jsonl").read_text().splitlines()]
    picked = {}
    for sheet in sheets:
        if sheet["split"] == "heldout":
            picked.setdefault(sheet["kind"], sheet)
    ids = {s["id"] for s in picked.values()}
    (tmp_path / "sheets.jsonl").write_text("".join(json.dumps(s) + "\n" for s in picked.values()))
    for name in ("labels.jsonl", "adversarial.jsonl", "paraphrases.jsonl"):
        rows = [x for x in (shipped / name).read_text().splitlines() if json.loads(x)["sheet"] in ids]
        (tmp_path / name).write_text("".join(x + "\n" for x in rows))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.cli",
            "eval",
            "--served",
            "--json",
            "--data",
            str(tmp_path),
            "--triton-url",
            stack_settings.triton_url,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["sheets"] == 6 and out["served"]["stories"] == 6
    for key in ("model_written_share", "model_acceptable_rate", "repeat_rate_per_listener"):
        assert 0.0 <= out["served"][key]["rate"] <= 1.0
    assert 0.0 < out["served"]["distinct_2"] <= 1.0


def test_a_request_whose_deadline_passed_in_the_queue_is_not_computed(triton: Stack, stack_settings: Settings) -> None:
    """The model's queue policy drops a request still queued when its deadline (sent with it) has
    passed, instead of computing a story its caller no longer waits for."""
    from tritonclient.grpc import InferenceServerException, InferInput
    from tritonclient.grpc.aio import InferenceServerClient

    case = CASES[0]
    params = {"n": 4, "temperature": 0.7, "top_p": 0.9, "max_new_tokens": 64, "seed": 1, "draft": "A draft."}

    def tensors() -> list[InferInput]:
        out = []
        for name, value in (("FACT_SHEET", to_json(case.sheet, case.kind)), ("PARAMS", json.dumps(params))):
            t = InferInput(name, [1, 1], "BYTES")
            t.set_data_from_numpy(np.array([[value.encode()]], dtype=np.object_))
            out.append(t)
        return out

    async def go() -> tuple[object, BaseException | None]:
        async with StoryClient(url=stack_settings.triton_url, timeout_s=300) as client:
            await client.wait_ready(timeout_s=120)
            busy = asyncio.create_task(client.generate(case.kind, case.sheet, Sampling(n=4, seed=1, max_new_tokens=64)))
            await asyncio.sleep(0.5)  # the one instance is computing it: the next request queues
            raw = InferenceServerClient(stack_settings.triton_url)
            try:
                await raw.infer("story_generator", tensors(), timeout=1_000)  # a 1 ms deadline
                refused: BaseException | None = None
            except InferenceServerException as e:
                refused = e
            finally:
                await raw.close()
            return await busy, refused

    generated, refused = run(go())
    assert generated.candidates, "the request that was computing finished"
    assert refused is not None and "timeout" in str(refused).lower(), refused
    # to the client, a deadline passed: retriable, as when it passes on the client's side
    assert isinstance(translate(refused), Timeout), (refused.status(), str(refused))  # type: ignore[attr-defined]
