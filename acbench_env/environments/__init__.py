"""Registered environments. This module holds only ``gymnasium.register`` lines."""

from gymnasium import register

register(id="acbench/Needle-v0", entry_point="acbench_env.environments.needle:NeedleEnv")
register(id="acbench/BlocksWorld-v0", entry_point="acbench_env.environments.blocks:BlocksWorldEnv")
register(id="acbench/Household-v0", entry_point="acbench_env.environments.household:HouseholdEnv")
register(id="acbench/WebShop-v0", entry_point="acbench_env.environments.webshop:WebShopEnv")
register(id="acbench/ToolQuery-v0", entry_point="acbench_env.environments.toolquery:ToolQueryEnv")
register(
    id="acbench/WorfBench-v0",
    entry_point="acbench_env.environments.workflow.worfbench:WorfBenchEnv",
)
register(
    id="acbench/Workflow-v0", entry_point="acbench_env.environments.workflow.generator:WorkflowEnv"
)
register(id="acbench/BFCL-v0", entry_point="acbench_env.environments.bfcl:BFCLEnv")
register(
    id="acbench/FunctionCall-v0",
    entry_point="acbench_env.environments.function_call:FunctionCallEnv",
)
register(id="acbench/Scenario-v0", entry_point="acbench_env.environments.scenario:ScenarioEnv")
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
register(
    id="acbench/ToolMultiTurn-v0",
    entry_point="acbench_env.environments.multiturn.env:ToolMultiTurnEnv",
    kwargs={"difficulty": 0},
)
register(
    id="acbench/ToolMultiTurnHard-v0",
    entry_point="acbench_env.environments.multiturn.env:ToolMultiTurnHardEnv",
    kwargs={"difficulty": 2},
)
register(
    id="acbench/ToolSteps-v0",
    entry_point="acbench_env.environments.multiturn.steps:ToolStepsEnv",
    kwargs={"difficulty": 0},
)
