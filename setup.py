"""The package list, found rather than written out: every folder under streamview/ (a protocol's folder under
streamview/protocols/ is installed without a line here or in pyproject.toml; examples/ as data), plus replay/,
widgets/ and tui/, which install inside streamview (pyproject.toml's package-dir). The rest is in pyproject.toml."""

from setuptools import find_namespace_packages, setup

found = find_namespace_packages(include=["streamview", "streamview.*"], exclude=["*__pycache__"])
setup(packages=found + ["streamview.replay", "streamview.widgets", "streamview.tui"])
