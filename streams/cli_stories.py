"""``linernotes eval``: the served story model on the golden set (and, with --judge, the judge)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from streams.cliutil import option, settings_from


def _table(result: dict[str, Any]) -> str:
    keys = ("stories", "model_candidates", "grounding_precision", "key_fact_recall", "model_accept_rate", "distinct_1",
            "distinct_2", "mean_words", "latency_p50_ms", "latency_p99_ms")  # fmt: skip
    lines = [f"{k:<22} {result[k]:.3f}" if isinstance(result[k], float) else f"{k:<22} {result[k]}" for k in keys]
    lines.append("by kind (model accept rate):")
    lines += [
        f"  {kind:<20} {v['model_accept_rate']:.2f}  ({int(v['stories'])} stories)"
        for kind, v in result["by_kind"].items()
    ]
    lines.append("examples:")
    for ex in result["examples"][:12]:
        mark = "model" if not ex["generator"].startswith("template:") else "tmpl "
        lines.append(f"  [{mark}] {ex['case']:<12} {ex['text']}")
    judge = result.get("judge")
    if judge:
        lines.append(
            f"judge: agreement with humans {judge['judge_agreement']:.2f}, consistent under order swap "
            f"{judge['judge_consistency']:.2f}, checker agreement {judge['checker_agreement']:.2f} "
            f"({judge['pairs']} pairs)"
        )
        lines.append(f"  limits: {judge['limits']}")
    return "\n".join(lines)


@click.command("eval")
@option("--samples", type=click.IntRange(min=1), default=2, help="Seeds per golden fact sheet")
@option("--judge", is_flag=True, help="Also run the pairwise LLM judge against the human-labelled pairs")
@option("--golden", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
        help="Golden set (JSON lines) [default: the one shipped in inference/data]")  # fmt: skip
@option("--pairs", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
        help="Human-labelled judge pairs [default: shipped]")  # fmt: skip
@option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write the JSON here")
@option("--json", "as_json", is_flag=True, help="Print one JSON object")
@option(
    "--triton-url", envvar="LINERNOTES_TRITON_URL", default=None, help="Triton gRPC host:port [default: local stack]"
)
def eval_cmd(samples: int, judge: bool, golden: Path | None, pairs: Path | None, out: Path | None, as_json: bool,
             triton_url: str | None) -> None:  # fmt: skip
    """Score the served story model on the golden set: grounding, accept rate, diversity, latency."""
    from inference import golden as golden_set
    from inference.client import StoryClient
    from inference.errors import InferenceError
    from inference.evaluate import load_pairs, run_eval, run_judge
    from inference.writer import StoryWriter

    settings = settings_from()
    cases = golden_set.load(golden)

    async def go() -> dict[str, Any]:
        async with StoryClient(url=triton_url or settings.triton_url, timeout_s=600) as client:
            try:
                await client.wait_ready(timeout_s=30)
            except InferenceError as e:
                raise click.ClickException(f"{e} (is the stack up? `linernotes up`)") from e
            result = (await run_eval(client, StoryWriter(client), cases, samples)).to_json()
            if judge:
                await client.wait_ready(timeout_s=30, model=client.judge_model)
                result["judge"] = await run_judge(client, cases, load_pairs(pairs))
            return result

    result = asyncio.run(go())
    if out:
        out.write_text(json.dumps(result, indent=2))
    click.echo(json.dumps(result) if as_json else _table(result))
