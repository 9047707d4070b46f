"""Triton and Phoenix come up through the same Stack code as `linernotes up`, and go away cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as triton_http

from streams.config.settings import Settings
from streams.devstack.stack import Stack, StackError
from streams.devstack.stack.base import pid_alive

pytestmark = pytest.mark.integration


def test_triton_serves_the_model_repository_and_cleans_up(stack: Stack, stack_settings: Settings) -> None:
    triton = stack.services["triton"]
    triton.start(timeout_s=120)
    try:
        client = triton_http.InferenceServerClient(f"127.0.0.1:{stack_settings.triton_http_port}")
        assert client.is_model_ready("story_generator")
        fact = {"name": "plays", "type": "NUMBER", "value": "12 plays", "number": 12.0, "unit": "play"}
        sheet = {"kind": "OTHER", "key_fact": "plays", "facts": [fact]}
        params = {"n": 2, "max_new_tokens": 8, "seed": 1}
        inputs = []
        for name, value in (("FACT_SHEET", json.dumps(sheet)), ("PARAMS", json.dumps(params))):
            tensor = triton_http.InferInput(name, [1, 1], "BYTES")
            tensor.set_data_from_numpy(np.array([[value]], dtype=object))
            inputs.append(tensor)
        out = json.loads(client.infer("story_generator", inputs).as_numpy("CANDIDATES").reshape(-1)[0])
        assert len(out["candidates"]) == 2 and len(out["completion_tokens"]) == 2
        assert 0 < max(out["completion_tokens"]) <= 8 and out["prompt_tokens"] > 10
        assert "nv_inference_request_success" in httpx.get(triton.endpoints()["metrics"]).text
        pid = triton.pid()
        assert pid is not None
    finally:
        triton.stop()
    assert not pid_alive(pid)
    assert not list(Path("/dev/shm").glob(f"{triton.shm_prefix}*"))


def test_a_taken_port_is_reported_clearly(stack: Stack, stack_settings: Settings) -> None:
    other = Stack(stack_settings.model_copy(update={"run_dir": stack_settings.run_dir / "other"}))
    with pytest.raises(StackError, match=f"port {stack_settings.broker_port} is already taken"):
        other.services["broker"].start(timeout_s=10)


def test_up_is_idempotent(stack: Stack) -> None:
    took = stack.up(["broker", "registry"], report=lambda _l: None)
    assert set(took) == {"broker", "registry"}
    assert all(s == "healthy" for s, _ in (stack.status()[n] for n in ("broker", "registry")))


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("LINERNOTES_SKIP_PHOENIX") == "1", reason="LINERNOTES_SKIP_PHOENIX=1")
def test_phoenix_receives_otlp(stack: Stack) -> None:
    phoenix = stack.services["phoenix"]
    phoenix.start(timeout_s=300)  # first use installs its own venv
    try:
        assert httpx.get(phoenix.endpoints()["ui"] + "/healthz").status_code == 200
        # The same process `linernotes status` would show.
        r = subprocess.run(
            [
                sys.executable,
                "-c",
                "import httpx,sys; print(httpx.get(sys.argv[1]).status_code)",
                phoenix.endpoints()["ui"],
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.stdout.strip() == "200"
    finally:
        phoenix.stop()
    assert phoenix.status() == "stopped"
