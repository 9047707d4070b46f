"""``linernotes eval`` and ``linernotes verify``: the truth gate and the story model, measured and used."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from streams.cliutil import option, settings_from


def _fmt(v: Any) -> str:
    if isinstance(v, dict) and "rate" in v:
        lo, hi = v["ci95"]
        return f"{v['rate']:.3f}  (95% interval {lo:.3f}-{hi:.3f}, {v['k']}/{v['n']})"
    return str(v)


def _table(result: dict[str, Any]) -> str:
    keys = (
        "split",
        "sheets",
        "labelled",
        "adversarial_total",
        "adversarial_false_accepted",
        "true_paraphrase_recall",
        "gate_label_agreement",
        "gate_accepts_unacceptable",
        "gate_refuses_acceptable",
        "gate_us_per_text",
    )
    lines = [f"{k:<28} {_fmt(result[k])}" for k in keys]
    for t in result["adversarial_false_accepted_texts"][:10]:
        lines.append(f"  accepted false [{t['category']}] {t['text']}")
    for name in ("pipeline", "served"):
        part = result.get(name)
        if part:
            lines.append(f"{name}: {part['source']}")
            lines += [f"  {k:<26} {_fmt(v)}" for k, v in part.items() if k != "source"]
    return "\n".join(lines)


@click.command("eval")
@option(
    "--split",
    type=click.Choice(["heldout", "dev", "all"]),
    default="heldout",
    help="Which sheets to score (tune on dev; report held-out)",
)
@option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Evaluation set folder [default: the one shipped in inference/data/eval]",
)
@option("--served", is_flag=True, help="Also write a story for every sheet with the served model (needs Triton)")
@option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write the JSON here")
@option("--json", "as_json", is_flag=True, help="Print one JSON object")
@option(
    "--triton-url", envvar="LINERNOTES_TRITON_URL", default=None, help="Triton gRPC host:port [default: local stack]"
)
def eval_cmd(
    split: str, data: Path | None, served: bool, out: Path | None, as_json: bool, triton_url: str | None
) -> None:
    """Score the truth gate and the stories the pipeline publishes, on the labelled evaluation set."""
    from inference.eval import sets
    from inference.eval.run import evaluate, pipeline_figures

    es = sets.load(data)
    result = evaluate(es, split)
    if served:
        from inference.client import StoryClient
        from inference.errors import InferenceError
        from inference.eval.served import served_pipeline
        from inference.writer import StoryWriter

        settings = settings_from()

        async def go() -> dict[str, Any]:
            async with StoryClient(url=triton_url or settings.triton_url, timeout_s=600) as client:
                try:
                    await client.wait_ready(timeout_s=30)
                except InferenceError as e:
                    raise click.ClickException(f"{e} (is the stack up? `linernotes up`)") from e
                published = await served_pipeline(StoryWriter(client), es.split(split))
                return {"source": "the served model, through the story writer", **pipeline_figures(published)}

        result["served"] = asyncio.run(go())
    if out:
        out.write_text(json.dumps(result, indent=2))
    click.echo(json.dumps(result) if as_json else _table(result))


@click.command("verify")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
def verify_cmd(file: Any) -> None:
    """Check stories against their facts: JSON lines {"kind", "facts", "text"} in (FILE or stdin), one
    {"grounded", "reasons"} line out per story. Exit code 0 whatever the verdicts."""
    from inference.grounding.verify import verify_lines

    for line in verify_lines(file):
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        sys.stdout.flush()
