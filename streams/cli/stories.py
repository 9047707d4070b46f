"""``linernotes eval`` and ``linernotes verify``: the truth gate and the story model, measured and used."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from streams.cli.common import option, settings_from


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
    for name in ("pipeline", "adapter", "templates", "served"):
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
@option(
    "--record",
    is_flag=True,
    help="First write the shipped adapter's candidates for every sheet again, in this process (minutes on a CPU), "
    "into the evaluation set's recorded.jsonl; then score them",
)
@option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write the JSON here")
@option("--json", "as_json", is_flag=True, help="Print one JSON object")
@option(
    "--triton-url", envvar="LINERNOTES_TRITON_URL", default=None, help="Triton gRPC host:port [default: local stack]"
)
def eval_cmd(
    *,
    split: str,
    data: Path | None,
    served: bool,
    record: bool,
    out: Path | None,
    as_json: bool,
    triton_url: str | None,
) -> None:
    """Score the truth gate and the stories the pipeline publishes, on the labelled evaluation set."""
    from inference.eval import sets
    from inference.eval.run import evaluate, pipeline_figures

    es = sets.load(data)
    if record:
        _record(data)
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


def _record(data: Path | None) -> None:
    """Record the shipped adapter's candidates for every sheet (all splits: a sheet's seed comes from
    its id, so each split reads the same candidates) where ``evaluate`` reads them."""
    from importlib import resources

    from inference.eval import recorded, sets
    from inference.generator import ADAPTER_DIR, StoryModel
    from inference.writer import WriterConfig

    target = (data or Path(str(resources.files("inference").joinpath("data", "eval")))) / recorded.RECORDING
    rows, tokens_per_s = recorded.record(StoryModel(adapter=ADAPTER_DIR), sets.load(data), WriterConfig())
    recorded.save(target, rows)
    click.echo(f"recorded {len(rows)} sheets' candidates at {tokens_per_s:.1f} tokens/s into {target}", err=True)


@click.command("verify")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
def verify_cmd(file: Any) -> None:
    """Check stories against their facts: JSON lines {"kind", "facts", "text"} in (FILE or stdin), one
    {"grounded", "reasons"} line out per story. Exit code 0 whatever the verdicts."""
    from inference.grounding.verify import verify_lines

    for line in verify_lines(file):
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        sys.stdout.flush()


def training_sheets(seeds: list[int], per_kind: int, same_at_most: int = 25) -> list[tuple[str, Any]]:
    """Fact sheets for training, from simulated listeners through the worker's own code, balanced across
    kinds. The seeds are not the evaluation's, so no evaluation listener is trained on; a kind with few
    possible sheets (a streak of 3 days) has the same facts as some evaluation sheets, and any one
    set of facts is kept at most ``same_at_most`` times."""
    from collections import Counter

    from streams.ingest.simulator.evalset import EVAL_SEEDS, requests_of

    if set(seeds) & set(EVAL_SEEDS):
        raise click.UsageError(f"seeds {sorted(set(seeds) & set(EVAL_SEEDS))} made the evaluation's sheets")
    copies: Counter[tuple[str, str]] = Counter()
    by_kind: dict[str, list[tuple[str, Any]]] = {}
    for seed in seeds:
        for r in requests_of(seed, users=150, events=40_000, days=21):
            key = (r.kind, json.dumps(r.facts.to_avro(), sort_keys=True))
            if copies[key] < same_at_most and len(by_kind.setdefault(r.kind, [])) < per_kind:
                copies[key] += 1
                by_kind[r.kind].append((r.kind, r.facts))
    return [x for rows in by_kind.values() for x in rows]


@click.command("train")
@option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".linernotes/train"),
    help="Where the stages, checkpoints and the adapter go (a rerun resumes from here)",
)
@option("--steps", type=click.IntRange(min=1), default=None, help="Supervised steps [default: the plan's]")
@option("--seed", type=int, default=7, help="Seeds the sheets' order, the frames drawn and the sampling")
@option("--ship", is_flag=True, help="Copy the adapter to inference/data/story-adapter (what Triton serves)")
@option("--quick", is_flag=True, help="A smoke-sized run of every stage (seconds): checks the code, not the model")
@option("--json", "as_json", is_flag=True, help="Print one JSON object at the end")
def train_cmd(*, out: Path, steps: int | None, seed: int, ship: bool, quick: bool, as_json: bool) -> None:
    """Train the story model's frame-writing adapter, then score base and trained on the held-out sheets."""
    import shutil
    from dataclasses import replace

    from tqdm import tqdm

    from inference.eval import sets
    from inference.eval.local import local_pipeline
    from inference.eval.run import pipeline_figures
    from inference.generator import ADAPTER_DIR, StoryModel
    from inference.training.run import Plan, train
    from inference.training.run import quick as quick_plan

    plan = Plan(seed=seed)
    if steps:
        plan = replace(plan, sft=replace(plan.sft, steps=steps))
    if quick:
        plan = quick_plan(plan)
    sheets = training_sheets([201, 202] if quick else list(range(201, 213)), 40 if quick else 900)
    bars: dict[str, Any] = {}

    def progress(stage: str, step: int, total: int, loss: float) -> None:
        bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=stage, unit="step", leave=True))
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        bar.update(step - bar.n)

    summary = train(sheets, out, plan, progress=progress, log=lambda m: click.echo(m, err=True))
    for bar in bars.values():
        bar.close()
    held = sets.load().split("heldout")
    if quick:
        held = sets.EvalSet(dict(list(held.sheets.items())[:6]), held.labelled, held.adversarial, held.paraphrases)
    figures = {}
    for name, adapter in (("base", None), ("trained", out / "adapter")):
        result = local_pipeline(StoryModel(adapter=adapter), held)
        figures[name] = {
            **pipeline_figures(result.published),
            "tokens_per_s": round(result.tokens_per_s, 1),
            "device": result.device,
        }
    summary["heldout"] = figures
    (out / "train.json").write_text(json.dumps(summary, indent=2))
    if ship:
        shutil.rmtree(ADAPTER_DIR, ignore_errors=True)
        shutil.copytree(out / "adapter", ADAPTER_DIR)
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"loss {summary['loss']}")
        for name, f in figures.items():
            click.echo(
                f"{name:<8} model-written {_fmt(f['model_written_share'])}; "
                f"acceptable {_fmt(f['model_acceptable_rate'])}; "
                f"distinct-2 {f['distinct_2']}; {f['tokens_per_s']} tokens/s on {f['device']}"
            )
