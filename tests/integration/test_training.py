"""`linernotes train` at smoke size: every stage runs, the adapter loads, a rerun resumes; and the
story model on CUDA where there is a GPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from inference.generator import StoryModel  # noqa: E402
from inference.prompt import Sampling  # noqa: E402
from inference.training.run import Plan, quick, train  # noqa: E402
from streams.cli.stories import training_sheets  # noqa: E402


def test_every_stage_runs_the_adapter_loads_and_a_rerun_resumes(tmp_path: Path) -> None:
    sheets = training_sheets([201], per_kind=12)
    assert {k for k, _ in sheets} >= {"SESSION_RECAP", "MILESTONE", "DISCOVERY", "WEEKLY_DIGEST"}
    summary = train(sheets, tmp_path, quick(Plan()), log=lambda _m: None)
    assert summary["loss"]["supervised"]["steps"] == 2
    weights = tmp_path / "adapter" / "adapter_model.safetensors"
    assert weights.exists() and weights.stat().st_size < 8_000_000
    assert json.loads((tmp_path / "stage1" / "checkpoint" / "state.json").read_text())["step"] == 2

    again = train(sheets, tmp_path, quick(Plan()), log=lambda _m: None)  # stage 1 is done: nothing to redo
    assert again["loss"]["supervised"] == {}

    model = StoryModel(adapter=tmp_path / "adapter")
    assert model.writes_frames and model.generator_id.startswith("story_generator/smollm2-135m-frames-")
    kind, sheet = sheets[0]
    gen = model.generate([(kind, sheet, None, Sampling(n=2, seed=1, max_new_tokens=24))])[0]
    assert len(gen.candidates) == 2 and len(gen.logprobs) == 2 and all(lp <= 0 for lp in gen.logprobs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")
def test_the_story_model_generates_on_cuda() -> None:
    sheets = training_sheets([201], per_kind=2)
    model = StoryModel(device="cuda:0")
    assert model.device.type == "cuda" and next(model.model.parameters()).is_cuda
    gens = model.generate([(k, s, None, Sampling(n=2, seed=i)) for i, (k, s) in enumerate(sheets)])
    cpu = StoryModel(device="cpu").generate(
        [(k, s, None, Sampling(n=2, seed=i, temperature=0.0)) for i, (k, s) in enumerate(sheets[:1])]
    )
    assert all(len(g.candidates) == 2 for g in gens) and cpu[0].candidates


def test_eval_record_writes_the_shipped_adapters_candidates_and_scores_them(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from inference.eval.recorded import load, shipped_generator
    from streams.cli.stories import eval_cmd

    shipped = Path(__file__).resolve().parents[2] / "inference" / "data" / "eval"
    (tmp_path / "sheets.jsonl").write_text("".join((shipped / "sheets.jsonl").read_text().splitlines(True)[:3]))
    (tmp_path / "labels.jsonl").write_text("")
    r = CliRunner().invoke(eval_cmd, ["--record", "--data", str(tmp_path), "--split", "all", "--json"])
    assert r.exit_code == 0, r.output
    rows = load(tmp_path / "recorded.jsonl")
    # both of the writer's rounds (WriterConfig's one regeneration), for every sheet
    assert len(rows) == 6 and {row.generator for row in rows} == {shipped_generator()}
    assert sorted((row.sheet, row.round) for row in rows) == sorted({(row.sheet, k) for row in rows for k in (0, 1)})
    assert all(row.candidates and len(row.logprobs) == len(row.candidates) for row in rows)
    adapter = json.loads(r.stdout.splitlines()[-1])["adapter"]
    assert adapter["current"] and adapter["stories"] == 3


def test_rows_leaving_the_batch_early_change_no_candidate() -> None:
    # Frames end at different lengths, and the decoder drops finished rows from its batch as it goes, at
    # steps that depend on the whole batch: a request's candidates must not depend on when that happened.
    from inference.eval import sets
    from inference.generator import ADAPTER_DIR

    sheets = list(sets.load().split("dev").sheets.values())[:6]
    asks = [(s.kind, s.sheet, None, Sampling(n=4, seed=11 + i, temperature=0.8)) for i, s in enumerate(sheets)]
    model = StoryModel(adapter=ADAPTER_DIR)
    together = model.generate(asks)
    assert len({len(c) for g in together for c in g.raw}) > 1  # the rows really end apart
    for ask, gen in zip(asks, together, strict=True):
        alone = model.generate([ask])[0]
        assert alone.candidates == gen.candidates
        assert alone.logprobs == pytest.approx(gen.logprobs, abs=1e-3)
