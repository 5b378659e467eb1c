"""Registered environments. This module holds only ``gymnasium.register`` lines."""

from gymnasium import register

register(id="acbench/Needle-v0", entry_point="acbench_env.environments.needle:NeedleEnv")
register(
    id="acbench/NeedleMultiKey-v0", entry_point="acbench_env.environments.ruler:MultiKeyNeedleEnv"
)
register(
    id="acbench/NeedleMultiValue-v0",
    entry_point="acbench_env.environments.ruler:MultiValueNeedleEnv",
)
register(
    id="acbench/NeedleMultiQuery-v0",
    entry_point="acbench_env.environments.ruler:MultiQueryNeedleEnv",
)
register(
    id="acbench/VariableTracking-v0",
    entry_point="acbench_env.environments.ruler:VariableTrackingEnv",
)
register(id="acbench/LongDocQA-v0", entry_point="acbench_env.environments.docqa:LongDocQAEnv")
register(id="acbench/LongGen-v0", entry_point="acbench_env.environments.longgen:LongGenEnv")
