"""Content credentials for generated media: C2PA manifests signed, embedded and verified (``c2pa-python``).

A generated file (wav, mp3, m4a, mp4, mov) gets a manifest whose assertions say what made it:

- ``c2pa.actions.v2``: ``c2pa.created`` with digital source type ``trainedAlgorithmicMedia`` and avikit as
  the software agent;
- ``org.avikit.generation``: the model id, its weights hash, the sha256 of the generation inputs (prompt,
  input media hashes, seed: :func:`hash_inputs`), the avikit version, the audio watermark (method and
  16-bit message) and the licence the media inherit from the generator's training data
  (:func:`~avikit.data.governance.most_restrictive_licence`);
- ``cawg.training-mining``: generative training on the media is not allowed, inference is.

Signing takes a certificate chain (leaf first, PEM) and its private key; nothing is fetched (no timestamp
authority, no remote manifest). :func:`verify_media` validates the embedded manifest against the given
trust anchors: ``Trusted`` (signature valid, chain ends at an anchor), ``Valid`` (signature valid, signer
not trusted), ``Invalid`` (the file or the manifest was altered) or no manifest. For tests and local use,
:func:`create_local_chain` makes a root, an intermediate and a signing certificate.

Example:
    >>> hash_inputs({"prompt": "a dog barks", "seed": 0})[:12]
    '3e64a23a4e28'
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avikit import __version__
from avikit.errors import DataError, UsageError

__all__ = [
    "MIME_TYPES",
    "ProvenanceReport",
    "SigningIdentity",
    "create_local_chain",
    "generation_manifest",
    "hash_inputs",
    "sign_media",
    "verify_media",
]

MIME_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
}
"""Suffixes avikit signs, and their MIME types (fragmented MP4 is not supported by C2PA)."""
ASSERTION = "org.avikit.generation"
_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


@dataclass(frozen=True)
class SigningIdentity:
    """Who signs: a PEM certificate chain (signing certificate first, root excluded) and its private key."""

    certificate_chain: str
    private_key: str
    algorithm: str = "es256"


@dataclass(frozen=True)
class ProvenanceReport:
    """What verification found in one file.

    Attributes:
        path: the file.
        state: ``"Trusted"``, ``"Valid"``, ``"Invalid"`` or ``"NoManifest"``.
        signer: the signing certificate's common name, issuer and serial number, when signed.
        generation: the ``org.avikit.generation`` assertion, when present.
        failures: validation failure codes with their explanations.
        successes: validation success codes.
    """

    path: str
    state: str
    signer: dict[str, Any] = field(default_factory=dict)
    generation: dict[str, Any] | None = None
    failures: list[str] = field(default_factory=list)
    successes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Signature and content intact (``Trusted`` or ``Valid``)."""
        return self.state in ("Trusted", "Valid")


def hash_inputs(inputs: Mapping[str, Any]) -> str:
    """The sha256 (hex) of the generation inputs as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def generation_manifest(
    title: str,
    model_id: str,
    weights_hash: str,
    inputs_sha256: str,
    licence: str,
    watermark: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest definition of a generated file (module docstring)."""
    generation = {
        "model": model_id,
        "weights_hash": weights_hash,
        "inputs_sha256": inputs_sha256,
        "avikit_version": __version__,
        "licence": licence,
        "watermark": dict(watermark) if watermark else None,
    }
    return {
        "claim_generator_info": [{"name": "avikit", "version": __version__}],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [{
                "action": "c2pa.created", "digitalSourceType": _SOURCE_TYPE,
                "softwareAgent": {"name": "avikit", "version": __version__},
            }]}},
            {"label": ASSERTION, "data": generation},
            {"label": "cawg.training-mining", "data": {"entries": {
                "cawg.ai_generative_training": {"use": "notAllowed"},
                "cawg.ai_inference": {"use": "allowed"},
            }}},
        ],
    }  # fmt: skip


def _mime(path: Path) -> str:
    if path.suffix.lower() not in MIME_TYPES:
        raise UsageError(f"{path}: C2PA signing supports {', '.join(MIME_TYPES)}; convert the file first")
    return MIME_TYPES[path.suffix.lower()]


def sign_media(
    source: str | Path, dest: str | Path, manifest: Mapping[str, Any], identity: SigningIdentity
) -> Path:
    """Write ``dest``: ``source`` with ``manifest`` signed by ``identity`` embedded (same format)."""
    import c2pa

    source, dest = Path(source), Path(dest)
    mime = _mime(source)
    info = c2pa.C2paSignerInfo(
        identity.algorithm, identity.certificate_chain.encode(), identity.private_key.encode(), None
    )
    try:
        signer = c2pa.Signer.from_info(info)
        with c2pa.Builder(dict(manifest)) as builder, source.open("rb") as src, dest.open("w+b") as dst:
            builder.sign(signer, mime, src, dst)
    except c2pa.C2paError as error:
        dest.unlink(missing_ok=True)
        raise DataError(
            f"{source}: C2PA signing failed ({error}); check the certificate chain and key"
        ) from error
    return dest


def _context(trust_anchors: str | None) -> Any:
    import c2pa

    if trust_anchors is None:
        return None
    settings = {"verify": {"verify_trust": True}, "trust": {"trust_anchors": trust_anchors}}
    return c2pa.Context(c2pa.Settings.from_dict(settings))


def verify_media(path: str | Path, trust_anchors: str | None = None) -> ProvenanceReport:
    """Validate the C2PA manifest embedded in ``path`` (against ``trust_anchors``, PEM roots, when given)."""
    import c2pa

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        with c2pa.Reader(path, context=_context(trust_anchors)) as reader:
            state = str(reader.get_validation_state())
            store = json.loads(reader.json())
    except c2pa.C2paError as error:
        if "ManifestNotFound" in str(error) or "no JUMBF" in str(error):
            return ProvenanceReport(str(path), "NoManifest", failures=[str(error)])
        raise DataError(f"{path}: cannot read its C2PA manifest ({error})") from error
    active = store.get("manifests", {}).get(store.get("active_manifest"), {})
    results = store.get("validation_results", {}).get("activeManifest", {})
    generation = next((a["data"] for a in active.get("assertions", []) if a.get("label") == ASSERTION), None)
    return ProvenanceReport(
        path=str(path),
        state=state,
        signer=dict(active.get("signature_info", {})),
        generation=generation,
        failures=[f"{f['code']}: {f.get('explanation', '')}" for f in results.get("failure", [])],
        successes=[s["code"] for s in results.get("success", [])],
    )


def _certificate(subject: str, issuer: tuple[str, Any], key: Any, ca: bool, days: int) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "avikit local test"),
            ]
        )

    now = datetime.datetime.now(datetime.UTC)
    unused = ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement")
    usage = dict.fromkeys((*unused, "encipher_only", "decipher_only"), False)
    key_usage = x509.KeyUsage(digital_signature=not ca, key_cert_sign=ca, crl_sign=ca, **usage)
    issuer_key = issuer[1].public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer[0]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False)
    )
    if not ca:  # C2PA signing certificates need an allowed extended key usage
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
    return builder.sign(issuer[1], hashes.SHA256())


def create_local_chain(days: int = 30) -> tuple[str, SigningIdentity]:
    """A fresh root CA, intermediate CA and ES256 signing certificate, for tests and local use only.

    Returns:
        ``(root certificate PEM: the trust anchor, the signing identity: leaf + intermediate and key)``.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(3)]
    root = _certificate("avikit test root", ("avikit test root", keys[0]), keys[0], True, days)
    middle = _certificate("avikit test intermediate", ("avikit test root", keys[0]), keys[1], True, days)
    leaf = _certificate("avikit test signer", ("avikit test intermediate", keys[1]), keys[2], False, days)

    def pem(cert: Any) -> str:
        return str(cert.public_bytes(serialization.Encoding.PEM).decode())

    key = keys[2].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()  # fmt: skip
    return pem(root), SigningIdentity(pem(leaf) + pem(middle), key)
