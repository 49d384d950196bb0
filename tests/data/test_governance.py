"""Licence governance: a declared use that a dataset's licence or terms forbid is refused, naming the licence."""

from __future__ import annotations

import pytest

from avikit.data.card import DatasetCard
from avikit.data.datasets import DATASETS
from avikit.data.governance import USES, LicenceError, check_allowed_use
from avikit.errors import AvikitError


@pytest.mark.parametrize("name", ["ave", "llp", "unav100", "avsbench-s4", "flickr-soundnet"])
def test_research_only_datasets_refuse_commercial_use_naming_the_licence(name):
    card = DATASETS[name].card()
    check_allowed_use(card, "research")
    with pytest.raises(
        LicenceError,
        match=rf"dataset '{name.split('-s4')[0]}' \(licence NOASSERTION\) may not be used for commercial use",
    ):
        check_allowed_use(card, "commercial")


def test_open_licences_allow_commercial_use_but_not_biometrics_on_people():
    for name in ("vggsound", "audioset", "music-avqa"):
        check_allowed_use(DATASETS[name].card(), "commercial")
        with pytest.raises(LicenceError, match="faces or voices"):
            check_allowed_use(DATASETS[name].card(), "biometric")
    avsynth = DATASETS["avsynth"].card()
    for use in USES:
        check_allowed_use(avsynth, use)


def test_vggss_is_apache_but_redistribution_of_media_is_refused():
    card = DATASETS["vggss"].card()
    check_allowed_use(card, "commercial")
    with pytest.raises(
        LicenceError,
        match=r"licence Apache-2.0\) may not be used for redistribution use: its terms forbid redistributing",
    ):
        check_allowed_use(card, "redistribution")


def test_non_commercial_spdx_licence_and_plain_dataset_card():
    card = DatasetCard("demo", "1", "d", "h", "CC-BY-NC-4.0", {}, {"test": 1}, {}).to_dict()
    check_allowed_use(card, "research")
    with pytest.raises(LicenceError, match="the licence CC-BY-NC-4.0 forbids commercial use") as info:
        check_allowed_use(card, "commercial")
    assert isinstance(info.value, AvikitError)


def test_unknown_licence_and_bad_input():
    check_allowed_use({"name": "x", "license": "LicenseRef-custom"}, "research")
    with pytest.raises(LicenceError, match="not one avikit knows"):
        check_allowed_use({"name": "x", "license": "LicenseRef-custom"}, "commercial")
    with pytest.raises(ValueError, match="unknown use 'sell'; declare one of: research, commercial"):
        check_allowed_use({"name": "x", "license": "MIT"}, "sell")
    with pytest.raises(ValueError, match="states no licence"):
        check_allowed_use({"name": "x"}, "research")
    check_allowed_use({"name": "x", "license": "https://spdx.org/licenses/MIT"}, "commercial")


def test_generated_media_inherit_the_most_restrictive_training_licence():
    from avikit.data.governance import LICENCE_TERMS, most_restrictive_licence

    assert most_restrictive_licence(["CC0-1.0", "CC-BY-NC-SA-4.0", "CC-BY-NC-4.0"]) == "CC-BY-NC-SA-4.0"
    assert most_restrictive_licence(["MIT", "Apache-2.0"]) == "MIT"  # equal terms: the first
    assert most_restrictive_licence(["CC0-1.0", "my-own-licence"]) == "NOASSERTION"
    # the result forbids every use any input forbids (brute force over all pairs)
    for a in LICENCE_TERMS:
        for b in LICENCE_TERMS:
            result = most_restrictive_licence([a, b])
            assert LICENCE_TERMS[a] | LICENCE_TERMS[b] <= LICENCE_TERMS[result]
    with pytest.raises(ValueError, match="training data"):
        most_restrictive_licence([])
