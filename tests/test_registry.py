"""The registries: the shared lookup, and the one model registry (names, import paths, entry points)."""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap

import pytest

from avikit._registry import lookup
from avikit.errors import UnknownNameError, UsageError
from avikit.models import registry
from avikit.tasks import registry as task_registry
from avikit.train import recipes


def test_lookup_returns_the_entry_and_lists_known_names_in_order():
    entries = {"b": 2, "a": 1}
    assert lookup(entries, "a", "letter") == 1
    with pytest.raises(KeyError) as caught:
        lookup(entries, "c", "letter")
    assert caught.value.args[0] == "unknown letter 'c'; known letters are: b, a"
    assert isinstance(caught.value, UnknownNameError)


@pytest.mark.parametrize(
    ("get", "names", "message"),
    [
        (task_registry.get_task, task_registry.TASKS, "unknown task 'nope'; known tasks are: "),
        (
            lambda name: recipes.train_recipe(name, "unused"),
            recipes.RECIPES,
            "unknown recipe 'nope'; known recipes are: ",
        ),
    ],
    ids=["tasks", "recipes"],
)
def test_each_registry_names_its_kind_and_its_entries(get, names, message):
    with pytest.raises(KeyError) as caught:
        get("nope")
    assert caught.value.args[0] == message + ", ".join(names)


def test_unknown_model_lists_every_registered_name_and_the_import_path_form():
    with pytest.raises(UnknownNameError) as caught:
        registry.get_model("nope")
    message = str(caught.value)
    assert message.startswith("unknown model 'nope'; known models are: " + ", ".join(registry.MODELS))
    assert "package.module:factory" in message


def test_every_registered_factory_resolves_without_building_and_baselines_are_registered():
    for name in registry.MODELS:
        assert callable(registry._factory(name)), name
    assert {"oracle", "chance", "avel", "v2a", "a2v", "joint-generation", "codec"} <= set(registry.MODELS)


def test_a_model_is_found_by_its_id_prefix_and_by_import_path():
    assert registry.get_model("avikit/oracle").id == "oracle"
    assert registry.get_model("avikit.models.baselines:ChanceModel").id == "chance-seed0"


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("no_such_package_xyz.models:build", "cannot import 'no_such_package_xyz.models'"),
        ("avikit.models.baselines:NoSuchThing", "has no attribute 'NoSuchThing'"),
        ("avikit.models.baselines:__doc__", "is not callable"),
        ("avikit.models.registry:list_models", "built a list without id, weights_hash, tasks, predict"),
    ],
)
def test_a_bad_import_path_is_a_usage_error_naming_it(spec, fragment):
    with pytest.raises(UsageError) as caught:
        registry.get_model(spec)
    assert fragment in str(caught.value) and spec in str(caught.value)


def test_an_installed_entry_point_registers_a_model(tmp_path, monkeypatch):
    package = tmp_path / "thirdparty_avmodel"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            class Constant:
                id, weights_hash, tasks = "thirdparty/constant", "none", ("sync",)

                def predict(self, task, batch):
                    return [{"id": item.id, "logits": [0.0] * 21} for item in batch]
            """
        )
    )
    dist = tmp_path / "thirdparty_avmodel-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-avmodel\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[avikit.models]\nthirdparty-constant = thirdparty_avmodel:Constant\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    assert "thirdparty-constant" in registry.list_models()
    assert registry.get_model("thirdparty-constant").id == "thirdparty/constant"
    sys.modules.pop("thirdparty_avmodel", None)


def test_describe_model_names_its_tasks_parameters_hash_and_module():
    info = registry.describe_model("avel")
    assert info.id == "avikit/avel" and info.tasks == ("avel",)
    assert info.parameters > 10_000 and len(info.weights_hash) == 16
    assert info.defined_in == "avikit.models.perception.avel"
    assert registry.describe_model("oracle").parameters == 0
