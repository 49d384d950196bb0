"""Generators, split as networks (``*_network``), sampling loops (``*_sampling``) and pipelines
(``*_pipeline``, the suite models), with their retrieval baselines; schedulers live in :mod:`avikit.nn`."""
