"""``avikit provenance verify|sign|card``: C2PA content credentials of generated media."""

from __future__ import annotations

import json
from pathlib import Path

import typer

__all__ = ["card_cmd", "provenance_app", "sign_cmd", "verify_cmd"]

provenance_app = typer.Typer(help="C2PA content credentials of generated media.", no_args_is_help=True)


def verify_cmd(
    file: Path = typer.Argument(..., help="A signed media file (wav, mp3, m4a, mp4, mov)."),
    trust_anchors: Path | None = typer.Option(None, help="PEM file of trusted root certificates."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Validate a file's C2PA manifest: state, signer, checks, generation assertion; exit 1 when not valid."""
    from rich.console import Console

    from avikit.eval.provenance import verify_media

    anchors = trust_anchors.read_text(encoding="utf-8") if trust_anchors else None
    report = verify_media(file, anchors)
    if as_json:
        typer.echo(json.dumps(report.__dict__, indent=1))
    else:
        console = Console()
        console.print(f"{file}: [bold]{report.state}[/bold]")
        if report.signer:
            signer = report.signer
            console.print(
                f"signer: {signer.get('common_name')} (issuer {signer.get('issuer')}, "
                f"serial {signer.get('cert_serial_number')}, {signer.get('alg')})"
            )
        console.print(f"checks passed: {', '.join(report.successes) or '-'}")
        for failure in report.failures:
            console.print(f"[red]failed[/red]: {failure}")
        if report.generation:
            console.print(f"generation: {json.dumps(report.generation)}")
    if not report.ok or (anchors is not None and report.state != "Trusted"):
        raise typer.Exit(1)


def sign_cmd(
    file: Path = typer.Argument(..., help="A generated media file (wav, mp3, m4a, mp4, mov)."),
    out: Path = typer.Option(..., "--out", help="Where to write the signed copy."),
    model: str = typer.Option(..., help="Registry name of the generator that made it."),
    inputs: str = typer.Option("{}", help="The generation inputs as JSON (prompt, input hashes, seed)."),
    cert: Path = typer.Option(..., help="PEM certificate chain, signing certificate first."),
    key: Path = typer.Option(..., help="PEM private key of the signing certificate."),
) -> None:
    """Sign a generated file with a C2PA manifest: the model, its weights, the inputs, the licence."""
    from avikit.eval.provenance import SigningIdentity, generation_manifest, hash_inputs, sign_media
    from avikit.models.generation.cards import generator_card
    from avikit.models.registry import get_model
    from avikit.models.watermark import DEFAULT_WATERMARKER, message_for, message_to_int

    generator = get_model(model)
    card = generator_card(model)
    mark = None
    if card.watermarked and getattr(generator, "watermarker", None) is not None:
        mark = {"method": DEFAULT_WATERMARKER, "message": f"{message_to_int(message_for(generator.id)):04x}"}
    manifest = generation_manifest(
        out.name,
        generator.id,
        generator.weights_hash,
        hash_inputs(json.loads(inputs)),
        card.output_licence,
        mark,
    )
    identity = SigningIdentity(cert.read_text(encoding="utf-8"), key.read_text(encoding="utf-8"))
    typer.echo(f"signed {sign_media(file, out, manifest, identity)}")


def card_cmd(model: str = typer.Argument(..., help="Registry name of a packaged generator.")) -> None:
    """Print a generator's card: training data, the licence its outputs inherit, its watermark."""
    from avikit.models.generation.cards import generator_card

    typer.echo(json.dumps(generator_card(model).to_dict(), indent=1))


provenance_app.command("verify")(verify_cmd)
provenance_app.command("sign")(sign_cmd)
provenance_app.command("card")(card_cmd)
