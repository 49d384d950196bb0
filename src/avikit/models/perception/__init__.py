"""Perception reference models: one file per task family, each a head on the frozen trunk."""
