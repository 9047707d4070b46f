"""The memory bench's run, small: the processor as the worker drives it, bounded and not."""

from streams.bench.memory import measure
from streams.config.settings import load


def test_a_bounded_run_evicts_and_applies_every_event(tmp_path) -> None:
    settings = load(run_dir=tmp_path, state_cache_users=50, flush_max_events=200, max_poll_records=100, triggers="")
    bounded = measure(settings, listeners=600, plays=2, unbounded=False)
    unbounded = measure(settings, listeners=600, plays=2, unbounded=True)
    assert bounded["applied"] == unbounded["applied"] == 1200
    # At the end, after the last flush: the bound, plus the changed states a flush had not taken yet.
    assert bounded["evicted"] > 0 and bounded["cached_states"] <= 50 + 200
    assert unbounded["evicted"] == 0 and unbounded["cached_states"] == 600
    assert bounded["peak_rss_mb"] > 0
