"""Registered environments. This module holds only ``gymnasium.register`` lines."""

from gymnasium import register

register(id="acbench/Needle-v0", entry_point="acbench_env.environments.needle:NeedleEnv")
register(id="acbench/BFCL-v0", entry_point="acbench_env.environments.bfcl:BFCLEnv")
register(
    id="acbench/FunctionCall-v0",
    entry_point="acbench_env.environments.function_call:FunctionCallEnv",
)
register(id="acbench/Scenario-v0", entry_point="acbench_env.environments.scenario:ScenarioEnv")
