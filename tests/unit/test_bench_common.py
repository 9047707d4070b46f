"""The benches' own arithmetic: a run is only measured if it did the work, and pairs are per round."""

import pytest

from streams.bench.common import durable_rate, paired


def _stats(**kw: float) -> dict[str, float]:
    return {"applied": 1000, "late": 0, "skipped_replayed": 0, "first_message_s": 10.0, "last_flush_s": 12.0} | kw


def test_durable_rate_is_events_over_first_message_to_last_durable_flush() -> None:
    assert durable_rate(_stats(), 1000) == 500.0
    assert durable_rate(_stats(applied=990, late=10), 1000) == 500.0  # late events were read and counted


@pytest.mark.parametrize("bad", [{"applied": 0, "skipped_replayed": 1000}, {"applied": 600}])
def test_durable_rate_refuses_a_run_that_did_not_apply_every_event(bad: dict[str, float]) -> None:
    with pytest.raises(RuntimeError, match="not a clean run"):
        durable_rate(_stats(**bad), 1000)


def test_paired_takes_each_rounds_ratio_then_the_median() -> None:
    # A machine that slows down by half in the middle: each round's pair still says 0.9.
    on, off = [90.0, 45.0, 44.0], [100.0, 50.0, 55.0]
    got = paired(on, off)
    assert got["runs"] == pytest.approx([0.9, 0.9, 0.8])
    assert got["median"] == pytest.approx(0.9)
