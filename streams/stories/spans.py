"""Spans of a story's generation: one GenAI ``chat`` span per model call (Triton), each with its
grounding check as a child."""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import SpanKind

from inference.generator import MODEL_NAME
from inference.writer import WriterConfig, Written
from streams.tracing.tracer import Tracer


def trace_generation(
    tracer: Tracer, process: Any, written: Written, start_ns: int, *, cfg: WriterConfig, server: str
) -> None:
    """One GenAI ``chat`` span per model call (Triton), each with its grounding check as a child."""
    cursor = start_ns
    for gen in written.generations:
        end = cursor + int(gen.latency_ms * 1_000_000)
        chat = tracer.start(
            f"chat {MODEL_NAME}",
            parent=process.context,
            kind=SpanKind.CLIENT,
            start_ns=cursor,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "triton",
                "gen_ai.system": "triton",
                "gen_ai.request.model": MODEL_NAME,
                "gen_ai.response.model": gen.generator,
                "gen_ai.request.temperature": cfg.temperature,
                "gen_ai.request.top_p": cfg.top_p,
                "gen_ai.request.max_tokens": cfg.max_new_tokens,
                "gen_ai.request.choice.count": len(gen.candidates),
                "gen_ai.usage.input_tokens": gen.prompt_tokens * max(1, len(gen.candidates)),
                "gen_ai.usage.output_tokens": sum(gen.completion_tokens),
                "server.address": server,
            },
        )
        accepted = written.model_written and written.story.text in gen.candidates
        check = tracer.start(
            "grounding check",
            parent=chat.context,
            start_ns=end,
            attributes={
                "linernotes.candidates": len(gen.candidates),
                "linernotes.accepted": accepted,
                "linernotes.grounded": written.story.grounded,
            },
        )
        check.end(end + 200_000)
        chat.end(end)
        cursor = end + 200_000
