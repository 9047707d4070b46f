"""Triton python-backend adapter for inference.generator.StoryModel (the story writer).

``execute`` receives the whole dynamic batch and makes one batched decode of it; a malformed request
gets its own error response and never fails the batch.
"""

import json
import sys
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

try:
    import inference  # noqa: F401 - installed with linernotes
except ImportError:  # running from a checkout: deploy/triton/models/<model>/1/model.py -> repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[5]))

from inference.factsheet import from_json
from inference.generator import StoryModel, dumps
from inference.prompt import Sampling

MAX_SHEET_BYTES = 16_384  # a story's facts fit in far less; more is a broken producer, not a story


def _one(request, name):
    return pb_utils.get_input_tensor_by_name(request, name).as_numpy().reshape(-1)[0]


class TritonPythonModel:
    def initialize(self, args):
        # The device Triton gives this instance: KIND_GPU -> cuda:<device id>, else the CPU.
        kind = args.get("model_instance_kind", "CPU")
        device = f"cuda:{args.get('model_instance_device_id', '0')}" if kind == "GPU" else "cpu"
        self.model = StoryModel(device=device)

    def execute(self, requests):
        parsed, errors = [], {}
        for i, request in enumerate(requests):
            try:
                raw_sheet = _one(request, "FACT_SHEET")
                if len(raw_sheet) > MAX_SHEET_BYTES:
                    raise ValueError(f"fact sheet of {len(raw_sheet)} bytes (limit {MAX_SHEET_BYTES})")
                kind, sheet = from_json(raw_sheet)
                params = json.loads(_one(request, "PARAMS") or b"{}")
                draft = params.pop("draft", None)
                parsed.append((i, (kind, sheet, draft, Sampling(**params))))
            except Exception as e:  # noqa: BLE001 - a bad request fails alone
                errors[i] = f"bad request: {e}"
        results = {}
        if parsed:
            try:
                gens = self.model.generate([p for _, p in parsed])
                results = {i: g for (i, _), g in zip(parsed, gens, strict=True)}
            except Exception:  # noqa: BLE001 - find the request that broke the batch: one at a time
                for i, p in parsed:
                    try:
                        results[i] = self.model.generate([p])[0]
                    except Exception as e:  # noqa: BLE001 - this one fails alone
                        errors[i] = f"generation failed: {type(e).__name__}: {e}"
        responses = []
        for i in range(len(requests)):
            if i in errors:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(errors[i])))
                continue
            g = results[i]
            doc = {
                "candidates": g.candidates,
                "raw": g.raw,
                "generator": self.model.generator_id,
                "prompt_tokens": g.prompt_tokens,
                "completion_tokens": g.completion_tokens,
                "logprobs": g.logprobs,
                "device": str(self.model.device),
            }
            out = pb_utils.Tensor("CANDIDATES", np.array([dumps(doc)], dtype=np.object_))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses
