"""Core contracts: records, the base environment, errors, registry helpers, the runner."""
