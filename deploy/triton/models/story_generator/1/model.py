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

from inference.factsheet import from_json  # noqa: E402
from inference.generator import GENERATOR_ID, StoryModel, dumps  # noqa: E402
from inference.prompt import Sampling  # noqa: E402


def _one(request, name):
    return pb_utils.get_input_tensor_by_name(request, name).as_numpy().reshape(-1)[0]


class TritonPythonModel:
    def initialize(self, args):
        self.model = StoryModel()

    def execute(self, requests):
        parsed, errors = [], {}
        for i, request in enumerate(requests):
            try:
                kind, sheet = from_json(_one(request, "FACT_SHEET"))
                params = json.loads(_one(request, "PARAMS") or b"{}")
                draft = params.pop("draft", None)
                parsed.append((i, (kind, sheet, draft, Sampling(**params))))
            except Exception as e:  # noqa: BLE001 - a bad request fails alone
                errors[i] = f"bad request: {e}"
        results = {}
        if parsed:
            try:
                gens = self.model.generate([p for _, p in parsed])
                results = {i: g for (i, _), g in zip(parsed, gens)}
            except Exception as e:  # noqa: BLE001 - report to every request in the batch
                errors.update({i: f"generation failed: {e}" for i, _ in parsed})
        responses = []
        for i in range(len(requests)):
            if i in errors:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(errors[i])))
                continue
            g = results[i]
            doc = {
                "candidates": g.candidates,
                "raw": g.raw,
                "generator": GENERATOR_ID,
                "prompt_tokens": g.prompt_tokens,
                "completion_tokens": g.completion_tokens,
            }
            out = pb_utils.Tensor("CANDIDATES", np.array([dumps(doc)], dtype=np.object_))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses
