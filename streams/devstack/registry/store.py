"""Registry state and rules, independent of HTTP and of storage.

Every change is an entry (a dict) that is first appended to a log and then applied; replaying
the log rebuilds the same state, which is how a restart finds its schemas again.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from streams.errors import StreamsError

LEVELS = ("NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE")


class RegistryHTTPError(StreamsError):
    """An error with Confluent's HTTP status and error code."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def subject_not_found(subject: str) -> RegistryHTTPError:
    return RegistryHTTPError(404, 40401, f"Subject '{subject}' not found.")


def version_not_found(version: object) -> RegistryHTTPError:
    return RegistryHTTPError(404, 40402, f"Version {version} not found.")


def schema_not_found() -> RegistryHTTPError:
    return RegistryHTTPError(404, 40403, "Schema not found")


def _parse(schema_text: str) -> avro.schema.Schema:
    try:
        return avro.schema.parse(schema_text)
    except Exception as e:
        raise RegistryHTTPError(422, 42201, f"Invalid schema: {e}") from e


def canonical(schema_text: str) -> str:
    """Parsing Canonical Form plus logical types, so equal schemas get equal ids."""
    parsed = _parse(schema_text)
    return json.dumps(parsed.to_json(), sort_keys=True, separators=(",", ":"))


def can_read(reader: str, writer: str) -> tuple[bool, list[str]]:
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(_parse(reader), _parse(writer))
    ok = result.compatibility is SchemaCompatibilityType.compatible
    return ok, sorted(result.messages) if not ok else []


def check_level(level: str, new: str, existing: list[str]) -> list[str]:
    """Problems with registering ``new`` after ``existing`` (oldest first) under ``level``."""
    if level == "NONE" or not existing:
        return []
    targets = existing if level.endswith("_TRANSITIVE") else existing[-1:]
    problems: list[str] = []
    for old in targets:
        if level.startswith(("BACKWARD", "FULL")):
            _, why = can_read(new, old)
            problems += [f"new schema cannot read data written with an existing one: {m}" for m in why]
        if level.startswith(("FORWARD", "FULL")):
            _, why = can_read(old, new)
            problems += [f"existing schema cannot read data written with the new one: {m}" for m in why]
    return problems


@dataclass
class Version:
    subject: str
    version: int
    schema_id: int
    schema: str
    deleted: bool = False


@dataclass
class State:
    default_level: str = "BACKWARD"
    schemas: dict[int, str] = field(default_factory=dict)  # id -> schema text as first registered
    ids_by_canonical: dict[str, int] = field(default_factory=dict)
    subjects: dict[str, list[Version]] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)


class Store:
    """Thread-safe registry state. ``append`` persists an entry before it is applied."""

    def __init__(self, append: Callable[[dict[str, Any]], None], *, default_level: str = "BACKWARD") -> None:
        self._append = append
        self._lock = threading.Lock()
        self.state = State(default_level=default_level)

    # -- log ---------------------------------------------------------------------------------
    def apply(self, entry: dict[str, Any]) -> None:
        """Apply one log entry (used both live and when replaying the log)."""
        s = self.state
        if entry["type"] == "SCHEMA":
            sid, text = int(entry["id"]), entry["schema"]
            s.schemas.setdefault(sid, text)
            s.ids_by_canonical.setdefault(canonical(text), sid)
            versions = s.subjects.setdefault(entry["subject"], [])
            if not any(v.version == entry["version"] for v in versions):
                versions.append(Version(entry["subject"], int(entry["version"]), sid, text))
        elif entry["type"] == "CONFIG":
            if entry.get("subject") is None:
                s.default_level = entry["level"]
            elif entry["level"] is None:
                s.levels.pop(entry["subject"], None)
            else:
                s.levels[entry["subject"]] = entry["level"]
        elif entry["type"] == "DELETE_SUBJECT":
            for v in s.subjects.get(entry["subject"], []):
                v.deleted = True

    def _commit(self, entry: dict[str, Any]) -> None:
        self._append(entry)
        self.apply(entry)

    # -- queries -----------------------------------------------------------------------------
    def _live(self, subject: str) -> list[Version]:
        versions = [v for v in self.state.subjects.get(subject, []) if not v.deleted]
        if not versions:
            raise subject_not_found(subject)
        return versions

    def subjects(self) -> list[str]:
        with self._lock:
            return sorted(s for s, vs in self.state.subjects.items() if any(not v.deleted for v in vs))

    def versions(self, subject: str) -> list[int]:
        with self._lock:
            return [v.version for v in self._live(subject)]

    def version(self, subject: str, version: str) -> Version:
        with self._lock:
            versions = self._live(subject)
            if version in ("latest", "-1"):
                return versions[-1]
            try:
                wanted = int(version)
            except ValueError as e:
                raise RegistryHTTPError(422, 42202, f"Invalid version {version!r}") from e
            for v in versions:
                if v.version == wanted:
                    return v
            raise version_not_found(version)

    def schema(self, schema_id: int) -> str:
        with self._lock:
            if schema_id not in self.state.schemas:
                raise schema_not_found()
            return self.state.schemas[schema_id]

    def subjects_of(self, schema_id: int) -> list[tuple[str, int]]:
        with self._lock:
            if schema_id not in self.state.schemas:
                raise schema_not_found()
            return [
                (v.subject, v.version)
                for vs in self.state.subjects.values()
                for v in vs
                if v.schema_id == schema_id and not v.deleted
            ]

    def lookup(self, subject: str, schema_text: str) -> Version:
        key = canonical(schema_text)
        with self._lock:
            versions = self._live(subject)
            for v in versions:
                if canonical(v.schema) == key:
                    return v
            raise schema_not_found()

    def level(self, subject: str | None, *, fallback: bool = True) -> str:
        with self._lock:
            if subject is None:
                return self.state.default_level
            if subject in self.state.levels:
                return self.state.levels[subject]
            if fallback:
                return self.state.default_level
            raise RegistryHTTPError(
                404, 40408, f"Subject '{subject}' does not have subject-level compatibility configured"
            )

    # -- changes -----------------------------------------------------------------------------
    def register(self, subject: str, schema_text: str) -> int:
        key = canonical(schema_text)  # validates (422) before taking the lock
        with self._lock:
            versions = [v for v in self.state.subjects.get(subject, []) if not v.deleted]
            for v in versions:
                if canonical(v.schema) == key:
                    return v.schema_id
            level = self.state.levels.get(subject, self.state.default_level)
            problems = check_level(level, schema_text, [v.schema for v in versions])
            if problems:
                raise RegistryHTTPError(
                    409,
                    409,
                    f"Schema being registered is incompatible with an earlier schema ({level}): " + "; ".join(problems),
                )
            sid = self.state.ids_by_canonical.get(key) or max(self.state.schemas, default=0) + 1
            all_versions = self.state.subjects.get(subject, [])
            number = max((v.version for v in all_versions), default=0) + 1
            self._commit({"type": "SCHEMA", "subject": subject, "version": number, "id": sid, "schema": schema_text})
            return sid

    def test_compatibility(self, subject: str, schema_text: str, version: str | None) -> tuple[bool, list[str]]:
        canonical(schema_text)
        with self._lock:
            versions = [v for v in self.state.subjects.get(subject, []) if not v.deleted]
            level = self.state.levels.get(subject, self.state.default_level)
        if version is None:
            existing = [v.schema for v in versions]
        elif not versions:
            raise subject_not_found(subject)
        else:
            existing = [self.version(subject, version).schema]
            level = level.removesuffix("_TRANSITIVE")
        problems = check_level(level, schema_text, existing)
        return not problems, problems

    def set_level(self, subject: str | None, level: str | None) -> None:
        if level is not None and level not in LEVELS:
            raise RegistryHTTPError(422, 42203, f"Invalid compatibility level {level!r}; one of {', '.join(LEVELS)}")
        with self._lock:
            self._commit({"type": "CONFIG", "subject": subject, "level": level})

    def delete_subject(self, subject: str) -> list[int]:
        with self._lock:
            versions = self._live(subject)
            self._commit({"type": "DELETE_SUBJECT", "subject": subject})
            return [v.version for v in versions]
