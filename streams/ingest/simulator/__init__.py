"""Deterministic synthetic listening: a catalog and listeners whose habits look like real ones."""

from streams.ingest.simulator.catalog import Catalog, build_catalog
from streams.ingest.simulator.listeners import Simulation, SimulationConfig

__all__ = ["Catalog", "Simulation", "SimulationConfig", "build_catalog"]
