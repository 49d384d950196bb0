"""The domain tokenizer study: speech, music and effects, judged by pretrained models nobody here trained.

Trains the tokenizer grid of :mod:`avikit.studies.domain_tokenizers` on the corpus of
:mod:`avikit.data.datasets.audio_domains` (prepared into ``OUT/corpus``, reused on a rerun): each kind at each
token rate on the mixture (the training clips of every domain, mixtures included), and each kind at the
``per_domain_rates`` on each studied domain alone. Every tokenizer trains with the same steps and crops; no
choice is made from the results (the grid is stated in advance), so no validation split is used.

Each tokenizer decodes the test clips of the domains it serves (a mixture-trained one: every studied domain;
a domain-trained one: its domain) with its first ``Q`` codes for every ``Q``; the signal metrics score every
``Q`` and the neural judges (:mod:`avikit.studies.domain_judging`) the ``judged_codebooks``. Beside them: the
same judges on the original audio (their ceiling), white noise at each clip's loudness and silence (trivial
floors), and, for mel tokenizers, the packaged vocoder on the unquantized mel (the ceiling its decoder sets).
The mixture-trained and the domain-trained tokenizer of the same kind, rate and ``Q`` are compared per clip
(paired bootstrap of the mean difference). Encode and decode real-time factors are timed on this CPU.

With ``alignment``, every mixture-trained tokenizer is measured by :mod:`avikit.studies.tokenizer_alignment`.
Results go to ``domain_study.json``, ``domain_study.md`` and one SVG per domain and judge
(:mod:`avikit.studies.domain_tokenizer_report`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avikit.data.datasets.audio_domains import prepare_audio_domains, read_audio_domains
from avikit.errors import UsageError
from avikit.metrics.bootstrap import compute_bootstrap_ci
from avikit.models.encoders.trunk import load_encoder
from avikit.models.tokenizers.mel_codec import MelCodec
from avikit.nn.codec import AudioCodec
from avikit.studies.domain_judging import DomainJudges
from avikit.studies.domain_tokenizer_report import write_domain_report
from avikit.studies.domain_tokenizers import KINDS, TokenizerSpec, TrainSettings, train_tokenizer
from avikit.studies.tokenizer_alignment import AlignmentConfig, load_alignment_data, score_alignment

__all__ = [
    "DOMAINS",
    "DomainStudyConfig",
    "merge_domain_results",
    "run_domain_tokenizer_study",
    "tokenizer_grid",
]

log = logging.getLogger(__name__)

DOMAINS = ("speech", "music", "effects", "mixture")
"""Domains the study can judge (the mixture domain is scored by the signal metrics only)."""


@dataclass(frozen=True)
class DomainStudyConfig:
    """Knobs of the study (the defaults are the run recorded in benchmarks/RESULTS.md).

    Attributes:
        domains: the domains judged.
        train_clips: training clips per corpus domain (mixture training reads all four domains').
        test_clips: test clips per domain.
        seconds: clip length.
        kinds: tokenizer kinds (``acoustic``, ``semantic``, ``mel``).
        rates: token rates (steps/s) of the mixture-trained tokenizers.
        per_domain_rates: token rates at which each kind is also trained on each domain alone.
        judged_codebooks: codebook counts the neural judges score (signal metrics: every count).
        train: how every tokenizer trains (codebooks, steps, crops, learning rate).
        neural: run the neural judges.
        references: judge the original audio, white noise and silence (a shard of a study run by kind in
            several processes may leave them to one shard; :func:`merge_domain_results` joins the shards).
        crepe_model: CREPE weights of the pitch judge.
        alignment: measure retrieval and V2A for each mixture-trained tokenizer.
        align: the alignment measurements' sizes.
        rtf_clips: test clips timed for the encode / decode real-time factors.
        num_threads: torch threads (1 on a shared machine).
        seed: corpus and training seed.
    """

    domains: tuple[str, ...] = ("speech", "music", "effects")
    train_clips: int = 48
    test_clips: int = 16
    seconds: int = 4
    kinds: tuple[str, ...] = KINDS
    rates: tuple[int, ...] = (64, 16)
    per_domain_rates: tuple[int, ...] = (64,)
    judged_codebooks: tuple[int, ...] = (1, 4)
    train: TrainSettings = field(default_factory=TrainSettings)
    neural: bool = True
    references: bool = True
    crepe_model: str = "tiny"
    alignment: bool = True
    align: AlignmentConfig = field(default_factory=AlignmentConfig)
    rtf_clips: int = 4
    num_threads: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.domains) - set(DOMAINS)
        if unknown or not self.domains:
            raise UsageError(f"unknown domain(s) {sorted(unknown)}; choose from {', '.join(DOMAINS)}")
        if not set(self.per_domain_rates) <= set(self.rates):
            raise UsageError(f"per_domain_rates {self.per_domain_rates} must be among rates {self.rates}")
        if any(not 1 <= q <= self.train.num_codebooks for q in self.judged_codebooks):
            raise UsageError(f"judged_codebooks must lie in [1, {self.train.num_codebooks}]")
        if self.train_clips < 1 or self.test_clips < 1:
            raise UsageError("the study needs at least one training and one test clip per domain")


def tokenizer_grid(config: DomainStudyConfig) -> list[TokenizerSpec]:
    """The tokenizers the study trains: mixture-trained at every rate, domain-trained at per-domain rates."""
    grid = [TokenizerSpec(kind, rate, "mixture") for kind in config.kinds for rate in config.rates]
    own = [d for d in config.domains if d != "mixture"]
    grid += [TokenizerSpec(k, r, d) for k in config.kinds for r in config.per_domain_rates for d in own]
    return grid


def _decode(codec: AudioCodec, audio: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``[N, Q, T]`` of ``audio [N, S]`` and its reconstruction with the first ``count`` codes."""
    with torch.no_grad():
        codes = torch.cat(
            [codec.encode(torch.from_numpy(audio[i : i + 8])[:, None]) for i in range(0, len(audio), 8)]
        )
        decoded = torch.cat([codec.decode(codes[i : i + 8, :count]) for i in range(0, len(codes), 8)])
    return codes.numpy(), decoded[:, 0, : audio.shape[1]].numpy()


def _real_time_factors(codec: AudioCodec, audio: np.ndarray) -> dict[str, float]:
    """Seconds of encoding and of decoding (all codebooks) per second of audio, on this CPU."""
    clip = torch.from_numpy(audio)[:, None]
    with torch.no_grad():
        start = time.perf_counter()
        codes = codec.encode(clip)
        middle = time.perf_counter()
        codec.decode(codes)
        end = time.perf_counter()
    seconds = audio.size / codec.sample_rate
    return {"encode_rtf": (middle - start) / seconds, "decode_rtf": (end - middle) / seconds}


def _score_tokenizer(
    spec: TokenizerSpec,
    codec: AudioCodec,
    tests: dict[str, Any],
    config: DomainStudyConfig,
    judges: DomainJudges,
) -> list[dict[str, Any]]:
    rows = []
    served = [d for d in config.domains if spec.trained_on in ("mixture", d)]
    for domain in served:
        samples, audio = tests[domain]
        for count in range(1, config.train.num_codebooks + 1):
            _, decoded = _decode(codec, audio, count)
            neural = config.neural and count in config.judged_codebooks
            scores = judges.judge(domain, samples, audio, decoded, neural=neural)
            rows.append(
                {
                    "tokenizer": spec.name,
                    "kind": spec.kind,
                    "rate": spec.rate,
                    "trained_on": spec.trained_on,
                    "domain": domain,
                    "num_codebooks": count,
                    "bitrate": spec.bitrate(count, config.train.codebook_size),
                    "scores": scores,
                }
            )
    return rows


def _references(tests: dict[str, Any], config: DomainStudyConfig, judges: DomainJudges) -> dict[str, Any]:
    """Per domain: the judges on the original audio, on white noise at the clip RMS, and on silence."""
    out: dict[str, Any] = {}
    rng = np.random.default_rng(config.seed)
    for domain, (samples, audio) in tests.items():
        rms = np.sqrt(np.mean(audio.astype(np.float64) ** 2, axis=1, keepdims=True))
        noise = (rng.normal(size=audio.shape) * rms).astype(np.float32)
        out[domain] = {
            "original": judges.judge_neural(domain, samples, audio) if config.neural else {},
            "noise": judges.judge(domain, samples, audio, noise, neural=config.neural),
            "silence": {
                "mel_distance": judges.judge(
                    domain, samples, audio, np.zeros_like(audio) + 1e-6, neural=False
                )["mel_distance"]
            },
        }
    return out


def _vocoder_ceiling(codec: MelCodec, tests: dict[str, Any], judges: DomainJudges) -> dict[str, Any]:
    """The mel tokenizer's vocoder on each domain's unquantized test mel (the ceiling of its decoder)."""
    out = {}
    for domain, (samples, audio) in tests.items():
        with torch.no_grad():
            waveform = torch.from_numpy(audio)[:, None]
            decoded = codec.decoder.vocoder(codec.encoder.features(waveform)).clamp(-1, 1)[
                :, 0, : audio.shape[1]
            ]
        out[domain] = judges.judge(domain, samples, audio, decoded.numpy(), neural=False)
    return out


def _paired(rows: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Mixture-trained minus domain-trained, per clip, for the same kind, rate, ``Q``, domain and metric."""
    keyed = {(r["kind"], r["rate"], r["domain"], r["num_codebooks"], r["trained_on"]): r for r in rows}
    out = []
    for (kind, rate, domain, count, trained), row in keyed.items():
        other = keyed.get((kind, rate, domain, count, "mixture"))
        if trained != domain or other is None:
            continue
        for metric, score in row["scores"].items():
            if metric in other["scores"] and "per_clip" in score and metric not in ("wer", "pitch_accuracy"):
                difference = np.asarray(other["scores"][metric]["per_clip"]) - np.asarray(score["per_clip"])
                low, high = compute_bootstrap_ci(difference, seed=seed)
                out.append(
                    {
                        "kind": kind,
                        "rate": rate,
                        "domain": domain,
                        "num_codebooks": count,
                        "metric": metric,
                        "mixture_minus_domain": float(difference.mean()),
                        "low": low,
                        "high": high,
                    }
                )
    return out


def run_domain_tokenizer_study(config: DomainStudyConfig, out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Prepare the corpus, train and judge the tokenizer grid, and write the report into ``out_dir``.

    Returns:
        ``{"config", "rows", "references", "vocoder_ceiling", "paired", "alignment", "tokenizers", "costs",
        "seconds"}`` (the content of ``domain_study.json``).
    """
    start, threads = time.perf_counter(), torch.get_num_threads()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.num_threads)
    try:
        corpus = out / "corpus"
        prepare_audio_domains(
            None,
            corpus,
            seed=config.seed,
            seconds=config.seconds,
            train=config.train_clips,
            val=0,
            test=config.test_clips,
        )
        corpus_seconds = time.perf_counter() - start
        train = read_audio_domains(corpus, "train")
        tests = {d: v for d, v in read_audio_domains(corpus, "test", config.domains).items()}
        judges = DomainJudges(config.neural, config.crepe_model, config.seed)
        references = _references(tests, config, judges) if config.references else {}
        encoder = load_encoder(config.align.encoder) if "semantic" in config.kinds else None
        alignment_data = load_alignment_data(config.align) if config.alignment else None
        rows: list[dict[str, Any]] = []
        tokenizers: dict[str, Any] = {}
        alignment: dict[str, Any] = {}
        ceiling: dict[str, Any] = {}
        for spec in tokenizer_grid(config):
            sources = list(train) if spec.trained_on == "mixture" else [spec.trained_on]
            audio = torch.from_numpy(np.concatenate([train[d][1] for d in sources]))[:, None]
            codec, record = train_tokenizer(spec, config.train, audio, encoder)
            some = next(iter(tests.values()))[1][: config.rtf_clips]
            tokenizers[spec.name] = {**asdict(spec), **record, **_real_time_factors(codec, some)}
            rows += _score_tokenizer(spec, codec, tests, config, judges)
            if isinstance(codec, MelCodec) and not ceiling:
                ceiling = _vocoder_ceiling(codec, tests, judges)
            if alignment_data is not None and spec.trained_on == "mixture":
                alignment[spec.name] = score_alignment(codec, alignment_data, config.align)
    finally:
        torch.set_num_threads(threads)
    result = {
        "config": asdict(config),
        "rows": rows,
        "references": references,
        "vocoder_ceiling": ceiling,
        "paired": _paired(rows, config.seed),
        "alignment": alignment,
        "log_mel_retrieval": alignment_data["log_mel_retrieval"] if alignment_data else None,
        "tokenizers": tokenizers,
        "costs": {
            "corpus_seconds": corpus_seconds,
            "judge_seconds_per_clip": judges.costs(),
            "load_average": os.getloadavg(),
        },
        "seconds": time.perf_counter() - start,
    }
    write_domain_report(out, result)
    return result


def _grid_order(config: dict[str, Any]) -> Any:
    """Sort key putting rows in the order of one unsharded run (:func:`tokenizer_grid`, domain, Q)."""
    kinds, domains = list(config["kinds"]), list(config["domains"])

    def key(row: dict[str, Any]) -> tuple[int, ...]:
        own = row["trained_on"] != "mixture"
        rates = list(config["per_domain_rates"] if own else config["rates"])
        trained = domains.index(row["trained_on"]) if own else -1
        return (
            own,
            kinds.index(row["kind"]),
            rates.index(row["rate"]),
            trained,
            domains.index(row["domain"]),
            row["num_codebooks"],
        )

    return key


def merge_domain_results(shards: list[dict[str, Any]]) -> dict[str, Any]:
    """Join the results of one study run in several processes (e.g. one per tokenizer kind).

    The shards must share their corpus and judging settings (everything but ``kinds``, ``references`` and
    ``alignment``); rows, tokenizers and alignment are joined, references and the vocoder ceiling taken from
    the shard that has them, the pairing recomputed, and the costs kept per shard (``seconds``: the longest).

    Raises:
        UsageError: no shard, or shards of different settings.
    """
    if not shards:
        raise UsageError("nothing to merge: give at least one domain_study.json")
    free = {"kinds", "references", "alignment"}
    base = {k: v for k, v in shards[0]["config"].items() if k not in free}
    for shard in shards[1:]:
        if {k: v for k, v in shard["config"].items() if k not in free} != base:
            raise UsageError(
                "the shards were run with different settings (other than kinds): they do not merge"
            )
    kinds = [k for shard in shards for k in shard["config"]["kinds"]]
    config = {
        **shards[0]["config"],
        "kinds": kinds,
        "references": any(s["config"]["references"] for s in shards),
    }
    rows = sorted((row for shard in shards for row in shard["rows"]), key=_grid_order(config))
    tokenizers = {k: v for s in shards for k, v in s["tokenizers"].items()}
    first: dict[str, int] = {}
    for i, row in enumerate(rows):
        first.setdefault(row["tokenizer"], i)
    return {
        "config": config,
        "rows": rows,
        "references": next((s["references"] for s in shards if s["references"]), {}),
        "vocoder_ceiling": next((s["vocoder_ceiling"] for s in shards if s["vocoder_ceiling"]), {}),
        "paired": _paired(rows, config["seed"]),
        "alignment": {k: v for s in shards for k, v in s["alignment"].items()},
        "log_mel_retrieval": next((s["log_mel_retrieval"] for s in shards if s["log_mel_retrieval"]), None),
        "tokenizers": dict(sorted(tokenizers.items(), key=lambda item: first.get(item[0], len(rows)))),
        "costs": {
            **shards[0]["costs"],
            "shards": [
                {"kinds": s["config"]["kinds"], "seconds": s["seconds"], **s["costs"]} for s in shards
            ],
        },
        "seconds": max(s["seconds"] for s in shards),
    }
