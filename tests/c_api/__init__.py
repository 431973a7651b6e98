"""Tests of the C node API, the C operator ABI and the C++ wrapper."""
