"""The registry, the download contract and the CLI functions of the dataset recipes."""

from __future__ import annotations

import json
import logging

import pytest
import typer
from typer.testing import CliRunner

from avikit.cli.datasets import card_cmd, list_datasets_cmd, prepare_cmd, validate_cmd
from avikit.data import datasets
from avikit.data.datasets import DATASETS, get_dataset, list_datasets
from avikit.data.download import ManualDownloadError
from avikit.errors import UsageError

app = typer.Typer()
app.command("list")(list_datasets_cmd)
app.command("prepare")(prepare_cmd)
app.command("card")(card_cmd)
app.command("validate")(validate_cmd)


def test_registry_lists_every_dataset_and_where_it_is_defined():
    names = [row["name"] for row in list_datasets()]
    assert names == sorted(names) and set(names) == set(DATASETS)
    assert {
        "ave",
        "llp",
        "unav100",
        "avsbench-s4",
        "avsbench-ms3",
        "avsbench-avss",
        "vggsound",
        "audioset",
        "music-avqa",
        "vggss",
        "flickr-soundnet",
        "avsynth",
        "audio-domains",
    } == set(names)
    assert list_datasets()[2]["defined_in"] == "avikit.data.datasets.ave.prepare_ave"
    with pytest.raises(KeyError, match="unknown dataset 'nope'; known datasets are: audio-domains, audioset"):
        get_dataset("nope")


@pytest.mark.parametrize(
    ("module", "name", "files"),
    [
        ("ave", "download_ave", 1),
        ("llp", "download_llp", 6),
        ("music_avqa", "download_music_avqa", 6),
        ("vggss", "download_vggss", 2),
    ],
)
def test_downloads_fetch_pinned_official_files_and_name_the_manual_rest(
    monkeypatch, tmp_path, caplog, module, name, files
):
    calls = []
    recipe = getattr(datasets, module)
    monkeypatch.setattr(recipe, "download_files", lambda root, remote: calls.append((root, remote)))
    with caplog.at_level(logging.WARNING):
        assert getattr(recipe, name)(tmp_path) == tmp_path
    ((_, remote),) = calls
    assert len(remote) == files and all(f.url.startswith("https://") for f in remote)
    assert all(f.sha256 for f in remote if "train" not in f.path)  # pinned where a digest is known
    assert "not directly downloadable" in caplog.text


@pytest.mark.parametrize("name", ["avsbench-s4", "unav100"])
def test_datasets_without_direct_download_say_what_to_fetch(tmp_path, name):
    with pytest.raises(ManualDownloadError, match=str(tmp_path)):
        DATASETS[name].download(tmp_path)


def test_cli_list_card_prepare_validate(reference_data, tmp_path):
    runner = CliRunner()
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0 and "music-avqa" in listed.output and "NOASSERTION" in listed.output
    card = runner.invoke(app, ["card", "vggss"])
    assert card.exit_code == 0 and json.loads(card.output)["license"] == "Apache-2.0"
    out = tmp_path / "out"
    args = [
        "prepare",
        "music-avqa",
        "--root",
        str(reference_data / "music-avqa"),
        "--out",
        str(out),
        "--option",
        "annotations=updated",
    ]
    prepared = runner.invoke(app, args)
    assert prepared.exit_code == 0, prepared.output
    assert "test: 6399 samples, media found 0, missing 6399" in prepared.output
    checked = runner.invoke(app, ["validate", str(out)])
    assert checked.exit_code == 0 and checked.output.strip().endswith("ok")
    (out / "test.missing.txt").write_text("")
    broken = runner.invoke(app, ["validate", str(out)])
    assert broken.exit_code == 1 and "does not list exactly the samples without media" in broken.output
    unknown = runner.invoke(app, ["card", "nope"])  # the CLI's handler turns a UsageError into exit 2
    assert isinstance(unknown.exception, UsageError) and "known datasets are" in str(unknown.exception)
    assert (
        runner.invoke(app, ["prepare", "ave", "--root", ".", "--out", str(out), "--option", "bad"]).exit_code
        == 2
    )
