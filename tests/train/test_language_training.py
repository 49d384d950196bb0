"""Instruction tuning, DPO (against trl), call writing and the unified model: tiny CPU runs of every recipe."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from avikit.models.encoders.trunk import load_encoder
from avikit.models.language.encoder_llm import from_pretrained
from avikit.tasks import get_task
from avikit.train.dpo import DPORecipe, dpo_loss, dpo_train, preference_metrics
from avikit.train.instruction_data import build_instruction_set
from avikit.train.instruction_tuning import InstructionRecipe, batch_loss, instruction_tune
from tests.model_fixtures import make_items
from tests.models.language.conftest import tiny_loader


def test_dpo_loss_closed_form():
    out = dpo_loss(
        torch.tensor([-1.0, -2.0]),
        torch.tensor([-3.0, -1.0]),
        torch.tensor([-2.0, -2.0]),
        torch.tensor([-2.0, -2.0]),
        beta=0.5,
    )
    margins = 0.5 * torch.tensor([1.0 - (-1.0), 0.0 - 1.0])
    assert torch.allclose(out.loss, -torch.nn.functional.logsigmoid(margins).mean())
    metrics = preference_metrics(
        (np.array([-1.0, -2.0]), np.array([-3.0, -1.0])),
        (np.array([-2.0, -2.0]), np.array([-2.0, -2.0])),
        ["audio", "visual"],
        0.5,
    )
    assert metrics["preference_accuracy"] == 0.5 and metrics["reward_margin"] == pytest.approx(0.25)
    assert metrics["preference_accuracy_audio"] == 1.0 and metrics["reward_accuracy_visual"] == 0.0


def test_dpo_loss_equals_trl_dpo_trainer(tmp_path):
    """trl's DPOTrainer (sigmoid loss) on the same tokens, with a policy and a reference that differ."""
    datasets = pytest.importorskip("datasets")
    trl = pytest.importorskip("trl")
    loader = tiny_loader()
    policy, tokenizer = loader()
    reference = tiny_loader(seed=1)()[0]
    data = datasets.Dataset.from_dict(
        {
            "prompt": ["How many sounds?", "Is it yes?"],
            "chosen": [" two", " yes"],
            "rejected": [" three", " no no"],
        }
    )
    args = trl.DPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=2,
        beta=0.1,
        report_to=[],
        use_cpu=True,
        max_length=64,
        save_strategy="no",
        remove_unused_columns=False,
    )
    trainer = trl.DPOTrainer(
        model=policy, ref_model=reference, args=args, train_dataset=data, processing_class=tokenizer
    )
    batch = next(iter(trainer.get_train_dataloader()))
    expected = float(trainer.compute_loss(policy, batch).detach())
    ids, mask, completion = batch["input_ids"], batch["attention_mask"], batch["completion_mask"]

    def logps(model):
        logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits[:, :-1].float(), -1)
        return (logp.gather(-1, ids[:, 1:, None])[..., 0] * completion[:, 1:]).sum(-1)

    with torch.no_grad():
        p, r = logps(policy), logps(reference)
    half = len(p) // 2
    # the same float32 log-softmax sums: agreement to 1e-5 on any BLAS
    assert float(dpo_loss(p[:half], p[half:], r[:half], r[half:], 0.1).loss) == pytest.approx(
        expected, abs=1e-5
    )


@pytest.fixture
def tuned(tiny_encoder, feature_cache, tmp_path):
    recipe = replace(
        InstructionRecipe.tiny(), model=replace(InstructionRecipe.tiny().model, encoder=str(tiny_encoder))
    )
    metrics = instruction_tune(tmp_path / "sft", recipe, tiny_loader(), load_encoder(tiny_encoder))
    return tmp_path / "sft", metrics


def test_instruction_tuning_writes_a_loadable_model(tuned, tiny_encoder):
    folder, metrics = tuned
    assert metrics["steps_done"] == 4 and metrics["train_records"] > 0 and metrics["val_loss"] is not None
    assert {"loss.jsonl", "loss.svg", "metrics.json", "recipe.json", "model.safetensors"} <= {
        p.name for p in folder.iterdir()
    }
    model = from_pretrained(folder, tiny_loader(), load_encoder(tiny_encoder))
    task, items = get_task("av-caption"), make_items("av-caption", 1)
    task.check_prediction(model.predict(task, items)[0], items[0].inputs, "test")


def test_the_answer_loss_falls_on_a_fixed_batch(tiny_encoder, feature_cache):
    from avikit.models.language.encoder_llm import EncoderLLMConfig, build_encoder_llm

    encoder = load_encoder(tiny_encoder)
    data = build_instruction_set(encoder, "train", 2, 0, kinds=("qa",))
    lm, tokenizer = tiny_loader(init_std=0.5)()  # a frozen LM able to give peaked logits, as a trained one
    model = build_encoder_llm(EncoderLLMConfig(lora_rank=4), encoder, lm, tokenizer)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    rows = list(range(4))
    with torch.no_grad():
        first = float(batch_loss(model, data, rows))
    for _ in range(30):
        loss = batch_loss(model, data, rows)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        assert float(batch_loss(model, data, rows)) < 0.5 * first


def test_dpo_run_reports_before_and_after(tuned, tiny_encoder, tmp_path):
    folder, _ = tuned
    metrics = dpo_train(
        tmp_path / "dpo", DPORecipe.tiny(str(folder)), tiny_loader(), load_encoder(tiny_encoder)
    )
    assert metrics["steps_done"] == 3 and metrics["train_pairs"] > 0
    assert metrics["val_before"]["reward_margin"] == 0.0  # the policy starts as the reference
    assert set(metrics["val_after"]) >= {"preference_accuracy", "reward_accuracy", "reward_margin"}
    assert json.loads((tmp_path / "dpo" / "config.json").read_text())["config"]["model_id"].endswith("-dpo")


def test_call_writing_and_unified_recipes_run(tiny_encoder, feature_cache, tmp_path):
    from avikit.models.generation.v2a_pipeline import from_pretrained as load_v2a
    from avikit.models.language.unified import from_pretrained as load_unified
    from avikit.train.tool_calls import ToolCallRecipe, tool_call_tune
    from avikit.train.unified import UnifiedRecipe, train_unified

    metrics = tool_call_tune(tmp_path / "calls", ToolCallRecipe.tiny(), tiny_loader())
    assert metrics["steps_done"] == 3 and metrics["train_requests"] == 16
    encoder, codec = load_encoder(tiny_encoder), load_v2a("v2a").codec
    metrics = train_unified(tmp_path / "unified", UnifiedRecipe.tiny(), encoder, codec)
    assert metrics["steps_done"] == 3 and metrics["examples"]["v2a"] == 3
    model = load_unified(tmp_path / "unified", encoder, codec)
    task, items = get_task("av-hallucination"), make_items("av-hallucination", 1)
    task.check_prediction(model.predict(task, items)[0], items[0].inputs, "test")
    assert model.decode_audio("<a3><a7>", 16000).shape == (16000,)
