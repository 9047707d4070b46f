"""dlq replay commits the group past what was delivered, never past a record that was not."""

from streams.kafka.redrive import _Part


class Err:
    def str(self) -> str:
        return "timed out"


def test_the_commit_stops_at_the_first_record_not_delivered() -> None:
    part = _Part()
    for offset in (3, 4, 5, 6):
        part.add(0, offset)
    for offset in (10, 11):
        part.add(1, offset)
    part.add(2, 7)
    part.on_delivery(0, 5)(Err(), None)  # type: ignore[arg-type]
    part.on_delivery(2, 7)(Err(), None)  # type: ignore[arg-type]
    part.on_delivery(1, 10)(None, None)  # type: ignore[arg-type]
    assert part.commit_points() == {0: 5, 1: 12}  # partition 2: its only record failed, nothing to commit
    assert part.first_error == "timed out" and part.size == 7
