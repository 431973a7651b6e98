"""The release check behind ``scripts/release-check`` (docs/release-check.md).

It builds every distribution of the workspace, checks their metadata, installs them in
fresh venvs outside the workspace and uses them as a new user would.
"""
