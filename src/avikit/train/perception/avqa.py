"""Training pieces of one perception head: its training data and its loss.

Training pieces of the AVQA head of :mod:`avikit.models.perception.avqa`: its training data (head inputs and
labels of a :class:`~avikit.train.feature_sets.FeatureSet`) and its loss.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F  # noqa: N812

from avikit.models.perception.avqa import FEATURE_KEYS, AVQAHead, _words, question_vocabulary
from avikit.tasks import AVQA_ANSWERS, Task
from avikit.train.feature_sets import FeatureSet

__all__ = ["avqa_loss", "avqa_training_data"]


# --------------------------------------------------------------------------------------------- training


def avqa_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """One row per question: the clip's segment features, the question (as word ids) and the answer."""
    head_index = {w: k for k, w in enumerate(question_vocabulary())}
    clips, words, answers = [], [], []
    for n, sample in enumerate(data.samples):
        for qa in sample.target("qa"):
            ids = [head_index[w] for w in _words(qa["question"]) if w in head_index][:16]
            clips.append(n)
            words.append(ids + [-1] * (16 - len(ids)))
            answers.append(AVQA_ANSWERS.index(qa["answer"]))
    index = torch.tensor(clips)
    rows = {k: data.features[k][index] for k in FEATURE_KEYS}
    return {**rows, "words": torch.tensor(words), "answer": torch.tensor(answers)}


def avqa_loss(head: AVQAHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Cross-entropy of the answer."""
    vocabulary = list(head.index)
    questions = [" ".join(vocabulary[i] for i in row if i >= 0) for row in batch["words"].tolist()]
    logits, _ = head(batch, questions)
    loss = F.cross_entropy(logits, batch["answer"])
    return {"loss": loss, "accuracy": (logits.argmax(-1) == batch["answer"]).float().mean()}
