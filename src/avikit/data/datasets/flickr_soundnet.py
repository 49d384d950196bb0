"""Flickr-SoundNet sound source localization test set (Senocak et al., CVPR 2018; LVS test list).

Official layout (the annotated release of ardasnck/learning_to_localize_sound_source and the test list
of the LVS repository)::

    ROOT/metadata/flickr_test.csv   <image id>,<number> per line: the 249 test images (first column read)
    ROOT/Annotations/<id>.xml       boxes of each annotator, in 256 x 256 pixel coordinates
    ROOT/frames/<id>.jpg            the image
    ROOT/audio/<id>.wav             the sound

An annotation file holds, under its root, one element per annotator whose ``bbox`` children each list a
first element (skipped, as the official readers do) and then ``xmin``, ``ymin``, ``xmax``, ``ymax``::

    <annotation><object><bbox><name>..</name><xmin>52</xmin><ymin>81</ymin><xmax>190</xmax><ymax>230</ymax></bbox>
    </object>...</annotation>

Targets: ``boxes`` (integers, 256-pixel scale, one list per box), ``box_format`` (``"xyxy_256"``),
``ground_truth`` (``"consensus"``: rasterised boxes summed, halved and clipped at 1, as LVS and EZ-VSL
do) and ``frame`` (path relative to the manifest). The sample's media is the audio, its length the audio's.
The profile is VGG-SS's (:func:`avikit.data.datasets.vggss.still_frame_profile`): the frame and the map at
224 x 224 (boxes rescaled from 256 with integer truncation), audio at 16 kHz; no classes.
"""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from avikit.data.croissant import CardFile, DatasetInfo, build_croissant
from avikit.data.datasets._recipe import find_file, media_ref, media_seconds, provenance, write_prepared
from avikit.data.datasets.vggss import LVS_COMMIT, still_frame_profile
from avikit.data.download import RemoteFile, download_files
from avikit.data.sample import Sample
from avikit.errors import DataError

__all__ = [
    "FLICKR_SOUNDNET_INFO",
    "card_flickr_soundnet",
    "download_flickr_soundnet",
    "prepare_flickr_soundnet",
]

log = logging.getLogger(__name__)

_TEST_URL = f"https://raw.githubusercontent.com/hche11/Localizing-Visual-Sounds-the-Hard-Way/{LVS_COMMIT}/metadata/flickr_test.csv"
_TEST_SHA256 = "faf5465bdb991cfb7506ccadef64dfea9e9bceb47e895d0e4dbdc2a0ca622871"

FLICKR_SOUNDNET_INFO = DatasetInfo(
    name="flickr-soundnet",
    title="Flickr-SoundNet sound source localization",
    description="5,000 Flickr image-sound pairs with sound-source boxes from 3 annotators; the standard test "
    "set is 249 of them (the LVS test list).",
    url="https://github.com/ardasnck/learning_to_localize_sound_source",
    licence="NOASSERTION",
    citation="@inproceedings{senocak2018learning, title={Learning to Localize Sound Source in Visual "
    "Scenes}, "
    "author={Senocak, Arda and Oh, Tae-Hyun and Kim, Junsik and Yang, Ming-Hsuan and Kweon, In So}, "
    "booktitle={CVPR}, year={2018}}",
    version=f"Annotations release; metadata/flickr_test.csv @ {LVS_COMMIT[:10]}",
    date_published="2018-06-18",
    media_source="Flickr images and sounds (Yahoo Flickr Creative Commons / SoundNet), each under its own "
    "licence",
    known_issues=(
        "The authors state the dataset must be used for research purposes only.",
        "Boxes are in 256-pixel coordinates; evaluations rescale them to 224 with integer truncation.",
        "The meaning of flickr_test.csv's second column is not documented; it is not read.",
    ),
    files=(CardFile("flickr_test.csv", _TEST_URL, "text/csv", _TEST_SHA256),),
    media_globs={"annotations": "Annotations/*.xml", "frames": "frames/*.jpg", "audio": "audio/*.wav"},
    manual_steps="Request the annotated Flickr-SoundNet release from the authors of "
    "github.com/ardasnck/learning_to_localize_sound_source and place Annotations/, frames/ and audio/ under "
    "ROOT.",
)


def _read_xml(path: Path) -> list[list[int]]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise DataError(f"{path}: not valid XML: {err}") from err
    boxes = []
    for annotator in root:
        for element in annotator:
            if element.tag != "bbox":
                continue
            values = [child.text or "" for child in list(element)[1:]]
            if len(values) != 4 or not all(v.strip().lstrip("-").isdigit() for v in values):
                raise DataError(
                    f"{path}: a bbox must hold a first element and then 4 integer coordinates, got {values}"
                )
            boxes.append([int(v) for v in values])
    if not boxes:
        raise DataError(f"{path}: no bbox found")
    return boxes


def prepare_flickr_soundnet(root: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write the avikit manifest (split ``test``) of the Flickr-SoundNet localization test set.

    A sample whose annotation file is missing cannot be scored: it fails with FileNotFoundError.

    Raises:
        FileNotFoundError: the test list or an annotation file is missing.
        ValueError: a file is not in the official format.
    """
    base = Path(root)
    test_path = find_file(
        base, ["metadata/flickr_test.csv", "flickr_test.csv"], "Flickr-SoundNet flickr_test.csv"
    )
    rows = []
    for number, line in enumerate(test_path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = [f.strip() for f in line.split(",")]
        if not fields[0]:
            continue
        if len(fields) != 2:
            raise DataError(f"{test_path}:{number}: expected '<image id>,<number>', got {line!r}")
        image_id = fields[0]
        xml = find_file(base, [f"Annotations/{image_id}.xml"], f"Flickr-SoundNet annotation of {image_id}")
        frame, audio = base / "frames" / f"{image_id}.jpg", base / "audio" / f"{image_id}.wav"
        targets: dict[str, Any] = {
            "boxes": _read_xml(xml),
            "box_format": "xyxy_256",
            "ground_truth": "consensus",
            "frame": os.path.relpath(frame.absolute(), Path(out).absolute()),
        }
        found = frame.is_file() and audio.is_file()
        sample = Sample(
            image_id,
            "flickr-soundnet",
            "test",
            media_ref(Path(out), audio, 0, media_seconds(audio) if found else None),
            provenance(FLICKR_SOUNDNET_INFO, f"flickr:{image_id}"),
            targets,
        )
        rows.append((sample, found))
    profile = still_frame_profile("flickr-soundnet", None, None)
    return write_prepared(out, FLICKR_SOUNDNET_INFO, {"test": rows}, [test_path], {}, profile=profile)


def download_flickr_soundnet(root: str | os.PathLike[str]) -> Path:
    """Download the test list (checked by SHA-256) into ``root/metadata``; the annotated data is manual."""
    base = Path(root)
    download_files(base / "metadata", [RemoteFile(_TEST_URL, "flickr_test.csv", _TEST_SHA256)])
    log.warning("Flickr-SoundNet data is not directly downloadable. %s", FLICKR_SOUNDNET_INFO.manual_steps)
    return base


def card_flickr_soundnet() -> dict[str, Any]:
    """Return the Croissant card of Flickr-SoundNet."""
    return build_croissant(FLICKR_SOUNDNET_INFO, counts={"test": 249})
