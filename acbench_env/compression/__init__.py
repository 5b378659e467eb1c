"""Compression: turn a model into a compressed checkpoint and record exactly how.

This subpackage holds the metadata contract every compressed checkpoint carries
(:mod:`acbench_env.compression.metadata`); trajectories and reports read a model's
compression fingerprint through it.
"""

from acbench_env.compression.metadata import COMPRESSION_METADATA_FILE, read_fingerprint

__all__ = ["COMPRESSION_METADATA_FILE", "read_fingerprint"]
