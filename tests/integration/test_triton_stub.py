"""deploy/triton/stub.sh, the python-backend stub the Triton image puts in the model's folder, runs a
model in the linernotes Python 3.11 environment while the backend's own stub is another Python's
(3.10, as in NVIDIA's 24.10 image). Against the real tritonserver 2.51 of the nvidia-pytriton wheel,
on the CPU: the release the image is built on."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

from streams.devstack.stack.base import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(sysconfig.get_paths()["purelib"])
TRITON = SITE / "pytriton" / "tritonserver"

CONFIG = """name: "echo"
backend: "python"
max_batch_size: 0
input [ { name: "X" data_type: TYPE_FP32 dims: [ 1 ] } ]
output [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
"""
MODEL = """import sys
import triton_python_backend_utils as pb_utils

class TritonPythonModel:
    def initialize(self, args):
        import inference  # only the linernotes environment has it
        self.version = float(f"{sys.version_info[0]}.{sys.version_info[1]}")

    def execute(self, requests):
        out = []
        for r in requests:
            x = pb_utils.get_input_tensor_by_name(r, "X").as_numpy()
            out.append(pb_utils.InferenceResponse([pb_utils.Tensor("Y", x * 0 + self.version)]))
        return out
"""


def test_the_model_folder_stub_runs_the_model_in_python_3_11(tmp_path: Path) -> None:
    backends = tmp_path / "backends" / "python"
    backends.mkdir(parents=True)
    for name in ("libtriton_python.so", "triton_python_backend_utils.py"):
        shutil.copy(TRITON / "backends" / "python" / name, backends / name)
    # the backend's own stub is Python 3.10's, as in NVIDIA's image
    shutil.copy(TRITON / "python_backend_stubs" / "3.10" / "triton_python_backend_stub", backends)
    model = tmp_path / "models" / "echo"
    (model / "1").mkdir(parents=True)
    (model / "config.pbtxt").write_text(CONFIG)
    (model / "1" / "model.py").write_text(MODEL)
    shutil.copy(ROOT / "deploy" / "triton" / "stub.sh", model / "triton_python_backend_stub")
    http, grpc, metrics = free_port(), free_port(), free_port()
    prefix = f"ln-stub-{http}"
    env = os.environ | {
        "LINERNOTES_VENV": str(Path(sys.executable).parent.parent),
        "LD_LIBRARY_PATH": f"{SITE / 'nvidia_pytriton.libs'}:{sysconfig.get_config_var('LIBDIR')}",
    }
    cmd = [
        str(TRITON / "bin" / "tritonserver"),
        f"--model-repository={tmp_path / 'models'}",
        f"--backend-directory={tmp_path / 'backends'}",
        f"--http-port={http}",
        f"--grpc-port={grpc}",
        f"--metrics-port={metrics}",
        "--allow-gpu-metrics=false",
        "--disable-auto-complete-config",
        "--pinned-memory-pool-byte-size=0",
        "--cuda-memory-pool-byte-size=0:0",
        "--backend-config=python,shm-default-byte-size=4194304",
        f"--backend-config=python,shm-region-prefix-name={prefix}",
        "--exit-timeout-secs=5",
    ]
    log = (tmp_path / "triton.log").open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http}/v2/health/ready", timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        assert proc.poll() is None, (tmp_path / "triton.log").read_text()[-2000:]
        body = json.dumps({"inputs": [{"name": "X", "shape": [1], "datatype": "FP32", "data": [1]}]}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{http}/v2/models/echo/infer", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read())["outputs"][0]["data"] == [pytest.approx(3.11)]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        for leftover in Path("/dev/shm").glob(f"{prefix}*"):
            leftover.unlink(missing_ok=True)
