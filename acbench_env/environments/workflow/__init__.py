"""Workflow generation environments: WorfBench's files and the project's generator."""
