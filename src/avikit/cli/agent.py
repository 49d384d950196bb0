"""``avikit agent run|tools|serve``: the agent benchmark, the tool list and the MCP server."""

from __future__ import annotations

import json
from pathlib import Path

import typer

__all__ = ["agent_app"]

agent_app = typer.Typer(help="Tool-using agents: benchmark, tools, MCP server.", no_args_is_help=True)


@agent_app.command("run")
def run(
    task: str = typer.Option(..., "--task", help="Agent task, e.g. agent-when-sounds."),
    planners: list[str] = typer.Option(
        ["scripted"], "--planner", help="Planner(s): scripted, prior, random, lm (SmolLM2-135M-Instruct)."
    ),
    n: int = typer.Option(20, "--n", min=1, help="Episodes."),
    k: int = typer.Option(3, "--k", min=1, help="Seeded trials per episode (pass^k)."),
    seed: int = typer.Option(0, "--seed", help="AVSynth and bootstrap seed."),
    out: Path = typer.Option(Path("runs/agent"), "--out", help="Output folder."),
) -> None:
    """Run planners (and the no-tool prior baseline) on an agent task; print the leaderboard."""
    from avikit.eval.agent.benchmark import run_agent_benchmark

    names = [*planners, *(["prior"] if "prior" not in planners else [])]
    run_agent_benchmark(task, names, out / task, n=n, k=k, seed=seed)
    typer.echo((out / task / "leaderboard.md").read_text())


@agent_app.command("tools")
def tools() -> None:
    """Print every tool's OpenAI function-calling schema."""
    from avikit.eval.agent.benchmark import default_tools

    typer.echo(json.dumps([t.openai_schema() for t in default_tools()], indent=1))


@agent_app.command("serve")
def serve() -> None:
    """Serve every tool over MCP on stdin/stdout."""
    from avikit.eval.agent.mcp_server import serve_stdio

    serve_stdio()
