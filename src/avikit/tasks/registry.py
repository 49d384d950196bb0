"""The task registry: a plain name -> factory dict, filled by ordinary imports (STYLE #15).

Example:
    >>> get_task("avel").spec.version
    1
    >>> describe_task("sync")["defined_in"]
    'avikit.tasks.sync:SyncTask'
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from avikit._registry import lookup
from avikit.tasks.avel import AVELCrossModalTask, AVELTask
from avikit.tasks.avqa import AVQATask
from avikit.tasks.avs import AVSBinaryTask, AVSSemanticTask
from avikit.tasks.avvp import AVVPTask
from avikit.tasks.base import Task
from avikit.tasks.captioning import CaptionTask
from avikit.tasks.classification import ClassificationTask, MultiLabelClassificationTask
from avikit.tasks.dense_localization import DenseLocalizationTask
from avikit.tasks.generation import A2VTask, CodecReconstructionTask, JointGenerationTask, V2ATask
from avikit.tasks.grounding import FaithfulnessTask, GroundingTask
from avikit.tasks.language import AVQAChoiceTask, AVQAWordsTask, HallucinationTask
from avikit.tasks.retrieval import RetrievalTask
from avikit.tasks.source_localization import SourceLocalizationTask
from avikit.tasks.sync import SyncTask

__all__ = ["TASKS", "describe_task", "get_task", "list_tasks"]

TASKS: dict[str, Callable[[], Task]] = {
    "avel": AVELTask,
    "avel-cross-modal": AVELCrossModalTask,
    "avvp": AVVPTask,
    "dense-localization": DenseLocalizationTask,
    "avs-binary": AVSBinaryTask,
    "avs-semantic": AVSSemanticTask,
    "source-localization": SourceLocalizationTask,
    "retrieval": RetrievalTask,
    "classification": ClassificationTask,
    "classification-multilabel": MultiLabelClassificationTask,
    "sync": SyncTask,
    "avqa": AVQATask,
    "v2a": V2ATask,
    "a2v": A2VTask,
    "joint-generation": JointGenerationTask,
    "codec-reconstruction": CodecReconstructionTask,
    "avqa-words": AVQAWordsTask,
    "avqa-choice": AVQAChoiceTask,
    "av-caption": CaptionTask,
    "av-grounding": GroundingTask,
    "av-hallucination": HallucinationTask,
    "av-faithfulness": FaithfulnessTask,
}
"""Task name -> factory (the task class)."""


def get_task(name: str) -> Task:
    """Return a new task by registry name.

    Raises:
        KeyError: for an unknown name; the message lists the known ones.
    """
    return lookup(TASKS, name, "task")()


def list_tasks() -> list[str]:
    """Registered task names, in registry order."""
    return list(TASKS)


def describe_task(name: str) -> dict[str, Any]:
    """The task's spec as JSON-able data, with where it is defined (module:class and file:line)."""
    factory = TASKS[name] if name in TASKS else get_task(name).__class__
    source = inspect.getsourcefile(factory) or "?"
    line = inspect.getsourcelines(factory)[1]
    return {
        **get_task(name).spec.to_dict(),
        "defined_in": f"{factory.__module__}:{factory.__qualname__}",
        "source": f"{Path(source).as_posix()}:{line}",
    }
