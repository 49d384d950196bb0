"""Audio-visual language models: Encoder+LLM, LLM+Generator, a unified model, and adapters to hub AV-LLMs."""
