"""C2PA round trip on generated media: sign with a local chain, verify, tamper, distrust."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from avikit import __version__
from avikit.cli.app import app
from avikit.eval.provenance import (
    create_local_chain,
    generation_manifest,
    hash_inputs,
    sign_media,
    verify_media,
)
from avikit.media import AVClip, save
from avikit.models.watermark.spread_spectrum import SpreadSpectrumWatermarker


@pytest.fixture(scope="module")
def chain():
    return create_local_chain()


@pytest.fixture
def generated_wav(tmp_path):
    audio = (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
    marked = SpreadSpectrumWatermarker().embed(audio, np.ones(16, np.int64))
    return save(AVClip(waveform=marked[None], sample_rate=16000), tmp_path / "generated.wav")


def _manifest(title="generated.wav"):
    inputs = hash_inputs({"prompt": "a bell rings", "seed": 3})
    return generation_manifest(title, "avikit/v2a-flow", "0123abcd", inputs, "CC0-1.0",
                               {"method": "learned", "message": "beef"})  # fmt: skip


def test_signed_wav_verifies_as_trusted_with_its_assertions(chain, generated_wav, tmp_path):
    root, identity = chain
    signed = sign_media(generated_wav, tmp_path / "signed.wav", _manifest(), identity)
    report = verify_media(signed, root)
    assert report.state == "Trusted" and report.ok and not report.failures
    assert report.signer["common_name"] == "avikit test signer"
    assert report.generation == {
        "model": "avikit/v2a-flow", "weights_hash": "0123abcd", "avikit_version": __version__,
        "inputs_sha256": hash_inputs({"seed": 3, "prompt": "a bell rings"}), "licence": "CC0-1.0",
        "watermark": {"method": "learned", "message": "beef"},
    }  # fmt: skip
    assert "assertion.dataHash.match" in report.successes


def test_tampered_audio_fails_verification(chain, generated_wav, tmp_path):
    root, identity = chain
    signed = sign_media(generated_wav, tmp_path / "signed.wav", _manifest(), identity)
    data = bytearray(signed.read_bytes())
    data[1000] ^= 0x01  # one bit of one PCM sample, inside the hashed data chunk
    tampered = tmp_path / "tampered.wav"
    tampered.write_bytes(bytes(data))
    report = verify_media(tampered, root)
    assert report.state == "Invalid" and not report.ok
    assert any(f.startswith("assertion.dataHash.mismatch") for f in report.failures)


def test_a_chain_outside_the_trust_anchors_is_valid_but_not_trusted(chain, generated_wav, tmp_path):
    _, identity = chain
    other_root, _ = create_local_chain()
    signed = sign_media(generated_wav, tmp_path / "signed.wav", _manifest(), identity)
    report = verify_media(signed, other_root)
    assert report.state == "Valid"
    assert any(f.startswith("signingCredential.untrusted") for f in report.failures)


def test_mp4_with_video_and_audio_round_trips(chain, tmp_path):
    root, identity = chain
    clip = AVClip(frames=np.zeros((8, 32, 32, 3), np.uint8), fps=8,
                  waveform=np.zeros((1, 16000), np.float32), sample_rate=16000)  # fmt: skip
    source = save(clip, tmp_path / "joint.mp4")
    assert (
        verify_media(
            sign_media(source, tmp_path / "signed.mp4", _manifest("joint.mp4"), identity), root
        ).state
        == "Trusted"
    )


def test_unsigned_file_has_no_manifest(generated_wav):
    assert verify_media(generated_wav).state == "NoManifest"


def test_cli_verify_exit_codes(chain, generated_wav, tmp_path):
    root, identity = chain
    anchors = tmp_path / "root.pem"
    anchors.write_text(root)
    signed = sign_media(generated_wav, tmp_path / "signed.wav", _manifest(), identity)
    runner = CliRunner()
    result = runner.invoke(
        app, ["provenance", "verify", str(signed), "--trust-anchors", str(anchors), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["state"] == "Trusted"
    data = bytearray(signed.read_bytes())
    data[2000] ^= 0x01
    signed.write_bytes(bytes(data))
    result = runner.invoke(app, ["provenance", "verify", str(signed), "--trust-anchors", str(anchors)])
    assert result.exit_code == 1 and "Invalid" in result.output


def test_cli_card_states_the_inherited_licence():
    result = CliRunner().invoke(app, ["provenance", "card", "v2a"])
    card = json.loads(result.output)
    assert (
        card["output_licence"] == "CC0-1.0" and "inherit the most restrictive licence" in card["licence_note"]
    )
