"""The Avro contract of linernotes: .avsc files, record types that mirror them, the codec.

Imports nothing else of ours (see DESIGN.md).
"""

from schemas.contract import SCHEMA_NAMES, load_schema, schema_str
from schemas.errors import DecodeError, RegistryError, RegistryUnavailable, SchemaError, SchemaNotFound

__all__ = [
    "SCHEMA_NAMES",
    "DecodeError",
    "RegistryError",
    "RegistryUnavailable",
    "SchemaError",
    "SchemaNotFound",
    "load_schema",
    "schema_str",
]
