"""The registry lookup shared by the layers: the entry, or a KeyError that lists the known names."""

from __future__ import annotations

import pytest

from avikit._registry import lookup
from avikit.eval import baselines
from avikit.models import recipes, registry
from avikit.tasks import registry as task_registry


def test_lookup_returns_the_entry_and_lists_known_names_in_order():
    entries = {"b": 2, "a": 1}
    assert lookup(entries, "a", "letter") == 1
    with pytest.raises(KeyError) as caught:
        lookup(entries, "c", "letter")
    assert caught.value.args[0] == "unknown letter 'c'; known letters are: b, a"


@pytest.mark.parametrize(
    ("get", "names", "message"),
    [
        (task_registry.get_task, task_registry.TASKS, "unknown task 'nope'; known tasks are: "),
        (registry.get_model, registry.MODELS, "unknown model 'nope'; known models are: "),
        (baselines.get_model, baselines.MODELS, "unknown model 'nope'; known models are: "),
        (
            lambda name: recipes.train_recipe(name, "unused"),
            recipes.RECIPES,
            "unknown recipe 'nope'; known recipes are: ",
        ),
    ],
    ids=["tasks", "models", "eval", "recipes"],
)
def test_each_registry_names_its_kind_and_its_entries(get, names, message):
    with pytest.raises(KeyError) as caught:
        get("nope")
    assert caught.value.args[0] == message + ", ".join(names)
