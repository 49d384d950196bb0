"""The ``studies`` layer: experiments that train and compare models (the tokenizer study, token probes,
generator score studies). They sit above :mod:`avikit.train` and :mod:`avikit.eval`."""
