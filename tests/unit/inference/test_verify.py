"""``linernotes verify``: JSON lines in, one verdict per line out, bad lines reported and skipped past."""

from __future__ import annotations

import json
import subprocess
import sys

from inference.grounding.verify import verify_lines

FACTS = {
    "key_fact": "streak_days",
    "facts": [{"name": "streak_days", "type": "STREAK", "value": "7 days", "number": 7.0, "unit": "day"}],
}


def test_each_line_gets_a_verdict_and_bad_lines_an_error() -> None:
    lines = [
        json.dumps({"kind": "STREAK", "facts": FACTS, "text": "7 days in a row, and counting."}),
        "{not json",
        json.dumps({"kind": "STREAK", "facts": FACTS, "text": "Your longest streak ever: 7 days."}),
        "",
        json.dumps({"kind": "STREAK", "text": "no facts"}),
        json.dumps({"kind": "STREAK", "facts": {"facts": []}, "text": "x"}),
    ]
    out = list(verify_lines(lines))
    assert out[0] == {"grounded": True, "reasons": []}
    assert out[1]["error"].startswith("line 2: ")
    assert out[2]["grounded"] is False and any("longest" in r for r in out[2]["reasons"])
    assert out[3] == {"error": "line 5: missing facts"}
    assert out[4]["error"].startswith("line 6: facts is not a fact sheet")
    assert len(out) == 5


def test_the_command_reads_stdin_and_exits_0_whatever_the_verdicts() -> None:
    stdin = "\n".join(
        [
            json.dumps({"kind": "STREAK", "facts": FACTS, "text": "A week-long streak, and counting."}),
            json.dumps({"kind": "STREAK", "facts": FACTS, "text": "8 days in a row."}),
            "[]",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "verify"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(x) for x in done.stdout.splitlines()]
    assert rows[0] == {"grounded": True, "reasons": []}
    assert rows[1]["grounded"] is False and rows[1]["reasons"] == [
        "no fact says '8 days'",
        "key fact not stated: streak days",
    ]
    assert "error" in rows[2]
