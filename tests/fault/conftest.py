"""Fixtures shared by this folder's tests."""

from tests.coordinator.helpers import cluster

__all__ = ["cluster"]
