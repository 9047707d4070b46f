"""Triton python-backend adapter for StoryModel.judge: P(story A preferred over story B)."""

import json
import sys
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

try:
    import inference  # noqa: F401 - installed with linernotes
except ImportError:  # running from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[5]))

from inference.factsheet import from_json  # noqa: E402
from inference.generator import StoryModel, dumps  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        self.model = StoryModel()

    def execute(self, requests):
        pairs, errors = [], {}
        for i, request in enumerate(requests):
            try:
                raw = pb_utils.get_input_tensor_by_name(request, "PAIR").as_numpy().reshape(-1)[0]
                doc = json.loads(raw)
                _, sheet = from_json(raw)
                pairs.append((i, (sheet, str(doc["a"]), str(doc["b"]))))
            except Exception as e:  # noqa: BLE001 - a bad request fails alone
                errors[i] = f"bad request: {e}"
        scores = {}
        if pairs:
            try:
                scores = dict(zip([i for i, _ in pairs], self.model.judge([p for _, p in pairs])))
            except Exception as e:  # noqa: BLE001
                errors.update({i: f"judge failed: {e}" for i, _ in pairs})
        responses = []
        for i in range(len(requests)):
            if i in errors:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(errors[i])))
            else:
                out = pb_utils.Tensor("VERDICT", np.array([dumps({"p_a": scores[i]})], dtype=np.object_))
                responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses
