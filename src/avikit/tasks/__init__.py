"""The ``tasks`` layer: the task taxonomy as versioned specs, their inputs, schemas and scoring.

Every task is registered by name in :data:`TASKS`; :func:`get_task` builds one. A task states its protocol
(:class:`TaskSpec`), the exact inputs it gives a model (:class:`TaskInputs`), the schema of a prediction line
and how predictions become the benchmark's official scores through :mod:`avikit.metrics`. A task reads the
geometry and vocabularies of the dataset it is bound to (:meth:`Task.for_dataset`).
"""

from avikit.tasks.avel import AVEL_LABELS, AVELCrossModalTask, AVELTask
from avikit.tasks.avqa import AVQA_ANSWERS, AVQATask
from avikit.tasks.avs import AVSBinaryTask, AVSSemanticTask
from avikit.tasks.avvp import AVVPTask
from avikit.tasks.base import (
    Evaluation,
    Geometry,
    Protocol,
    Task,
    TaskInputs,
    TaskSpec,
    cut_media,
    model_media,
    sample_geometry,
    sample_uniform_frames,
    second_segments,
    segments,
)
from avikit.tasks.classification import ClassificationTask, MultiLabelClassificationTask
from avikit.tasks.dense_localization import DenseLocalizationTask
from avikit.tasks.registry import TASKS, describe_task, get_task, list_tasks
from avikit.tasks.retrieval import RetrievalTask
from avikit.tasks.schema import (
    FIELD_KINDS,
    FieldSpec,
    PredictionError,
    check_record,
    decode_mask,
    encode_mask,
)
from avikit.tasks.source_localization import SourceLocalizationTask
from avikit.tasks.sync import SYNC_OFFSETS, SyncTask, sync_offset_class

__all__ = [
    "AVEL_LABELS",
    "AVQA_ANSWERS",
    "FIELD_KINDS",
    "SYNC_OFFSETS",
    "TASKS",
    "AVELCrossModalTask",
    "AVELTask",
    "AVQATask",
    "AVSBinaryTask",
    "AVSSemanticTask",
    "AVVPTask",
    "ClassificationTask",
    "DenseLocalizationTask",
    "Evaluation",
    "FieldSpec",
    "Geometry",
    "MultiLabelClassificationTask",
    "PredictionError",
    "Protocol",
    "RetrievalTask",
    "SourceLocalizationTask",
    "SyncTask",
    "Task",
    "TaskInputs",
    "TaskSpec",
    "check_record",
    "cut_media",
    "decode_mask",
    "describe_task",
    "encode_mask",
    "get_task",
    "list_tasks",
    "model_media",
    "sample_geometry",
    "sample_uniform_frames",
    "second_segments",
    "segments",
    "sync_offset_class",
]
