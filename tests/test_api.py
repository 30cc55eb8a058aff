"""The public names of `import outcomes as oc`."""

import importlib

import pytest

import outcomes as oc

SAME_NAME = ["change", "validate", "dominance", "monitor", "reliability", "multilevel", "power"]


@pytest.mark.parametrize("name", SAME_NAME)
def test_a_function_keeps_its_name_after_its_module_is_imported(name):
    module = importlib.import_module(f"outcomes.{name}")
    assert callable(getattr(oc, name)) and getattr(oc, name) is getattr(module, name)


def test_every_public_name_resolves():
    missing = [name for name in oc.__all__ if not hasattr(oc, name)]
    assert missing == []


def test_instruments_stays_a_module():
    assert oc.instruments.get("ors").n_items == 4
