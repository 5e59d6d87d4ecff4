"""costaudit: what LLM traffic costs, and what it would cost routed, cached, batched or self-hosted."""

__version__ = "0.1.0"
