"""Configuration: the settings every process reads (each field also a ``LINERNOTES_*`` variable)."""
