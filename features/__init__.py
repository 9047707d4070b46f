"""Pure per-user feature logic in event time. No faust, Kafka, Triton, environment or wall clock:
time comes in with the events. The live agent, the replay and the tests all call :func:`update`.
"""

from features import native

native.select()  # compiled trigger modules, or their pure-Python sources (see features.native)

from features.config import FeatureConfig  # noqa: E402
from features.errors import FeatureError  # noqa: E402
from features.result import UpdateResult  # noqa: E402
from features.snapshot import snapshot  # noqa: E402
from features.state import UserState  # noqa: E402
from features.update import update  # noqa: E402

__all__ = ["FeatureConfig", "FeatureError", "UpdateResult", "UserState", "snapshot", "update"]
