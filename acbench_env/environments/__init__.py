"""Registered environments. This module holds only ``gymnasium.register`` lines."""

from gymnasium import register

register(id="acbench/Needle-v0", entry_point="acbench_env.environments.needle:NeedleEnv")
