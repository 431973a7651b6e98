"""Tests of type annotations, the type library and modules."""
