"""Tests of dora_message: descriptor loading and validation, sources, units."""
