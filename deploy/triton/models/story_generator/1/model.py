"""Placeholder story_generator until the story-model issue lands: it restates the key fact.

Runs in Triton's python backend. One ``execute`` call receives the whole dynamic batch and
returns one response per request; a bad request gets its own error, never the whole batch.
"""

import json

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.version = "placeholder-0"

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                raw = pb_utils.get_input_tensor_by_name(request, "FACT_SHEET").as_numpy()
                sheets = [json.loads(x[0]) for x in raw]
                out = []
                for sheet in sheets:
                    key = next(f for f in sheet["facts"] if f["name"] == sheet["key_fact"])
                    out.append([json.dumps({"text": f"{key['name']}: {key['value']}", "generator": self.version})])
                tensor = pb_utils.Tensor("CANDIDATES", np.array(out, dtype=np.object_))
                responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
            except Exception as e:  # noqa: BLE001 - a bad request fails alone
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"bad request: {e}")))
        return responses
