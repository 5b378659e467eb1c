"""Small data files written by the project and shipped with the package.

``bfcl_sample/``: a few items in the Berkeley Function Calling Leaderboard file format (the
default data of ``acbench/BFCL-v0``; pass ``data_dir=`` for the real files).
``scenarios/``: the default custom tool-use scenario of ``acbench/Scenario-v0``.
"""
