"""Pure per-user feature logic in event time. No faust, Kafka, Triton, environment or wall clock:
time comes in with the events. The live agent, the replay and the tests all call :func:`update`.
"""

from features.config import FeatureConfig
from features.errors import FeatureError
from features.result import UpdateResult
from features.snapshot import snapshot
from features.state import UserState
from features.update import update

__all__ = ["FeatureConfig", "FeatureError", "UpdateResult", "UserState", "snapshot", "update"]
