"""The registry's rules without HTTP or Kafka: ids, versions, compatibility, log replay."""

import json

import pytest

from streams.devstack.registry.store import RegistryHTTPError, Store

V1 = json.dumps({"type": "record", "name": "T", "fields": [{"name": "a", "type": "string"}]})
V2_OK = json.dumps(
    {
        "type": "record",
        "name": "T",
        "fields": [{"name": "a", "type": "string"}, {"name": "b", "type": "int", "default": 0}],
    }
)
V2_BAD = json.dumps(
    {"type": "record", "name": "T", "fields": [{"name": "a", "type": "string"}, {"name": "b", "type": "int"}]}
)  # new field without a default
V2_WIDEN = json.dumps({"type": "record", "name": "T", "fields": [{"name": "a", "type": ["null", "string"]}]})


def make() -> tuple[Store, list]:
    log: list = []
    return Store(log.append), log


def test_ids_are_global_and_stable() -> None:
    store, _ = make()
    first = store.register("a-value", V1)
    assert store.register("a-value", V1) == first  # idempotent
    assert store.register("b-value", json.dumps(json.loads(V1), indent=2)) == first  # same schema, same id
    assert store.register("a-value", V2_OK) == first + 1
    assert store.versions("a-value") == [1, 2]
    assert store.version("a-value", "latest").schema_id == first + 1


def test_backward_is_enforced_with_avro_resolution_rules() -> None:
    store, _ = make()
    store.register("s", V1)
    with pytest.raises(RegistryHTTPError) as e:
        store.register("s", V2_BAD)
    assert (e.value.status, e.value.code) == (409, 409)
    assert store.register("s", V2_WIDEN) > 0  # promoting string to a union with string reads old data


def test_compatibility_levels_and_checks() -> None:
    store, _ = make()
    store.register("s", V1)
    assert store.test_compatibility("s", V2_BAD, "latest")[0] is False
    store.set_level("s", "NONE")
    assert store.level("s") == "NONE"
    assert store.register("s", V2_BAD) > 0
    with pytest.raises(RegistryHTTPError) as e:
        store.set_level("s", "SIDEWAYS")
    assert e.value.code == 42203


def test_not_found_codes() -> None:
    store, _ = make()
    with pytest.raises(RegistryHTTPError) as e:
        store.versions("missing")
    assert e.value.code == 40401
    store.register("s", V1)
    with pytest.raises(RegistryHTTPError) as e:
        store.version("s", "9")
    assert e.value.code == 40402
    with pytest.raises(RegistryHTTPError) as e:
        store.schema(999)
    assert e.value.code == 40403
    with pytest.raises(RegistryHTTPError) as e:
        store.lookup("s", V2_OK)
    assert e.value.code == 40403
    with pytest.raises(RegistryHTTPError) as e:
        store.register("s", "{not json")
    assert e.value.code == 42201


def test_replaying_the_log_rebuilds_the_same_state() -> None:
    store, log = make()
    store.register("s", V1)
    store.register("s", V2_OK)
    store.set_level("t", "FULL")
    replayed = Store(lambda _e: pytest.fail("replay must not append"))
    for entry in log:
        replayed.apply(entry)
    assert replayed.state == store.state
