"""``avikit tasks list|show`` through the sub-app."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from avikit.cli.tasks import tasks_app
from avikit.envs.tasks import NAV_TASKS
from avikit.tasks import TASKS
from avikit.tasks.agent import AGENT_TASKS
from avikit.tasks.streaming import STREAM_TASKS

runner = CliRunner()


def test_list_json_names_every_task_and_where_it_is_defined() -> None:
    result = runner.invoke(tasks_app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    names = [r["name"] for r in rows]
    assert names[: len(TASKS)] == list(TASKS)  # the perception and generation tasks first, then interaction
    interaction = {**AGENT_TASKS, **STREAM_TASKS, **NAV_TASKS}
    assert set(names[len(TASKS) :]) == set(interaction) and len(names) == len(TASKS) + len(interaction)
    evaluated = rows[: len(TASKS)]
    assert all(r["defined_in"].startswith("avikit.tasks.") and ".py:" in r["source"] for r in evaluated)


def test_list_table_and_show() -> None:
    table = runner.invoke(tasks_app, ["list"])
    assert table.exit_code == 0 and "avikit.tasks.sync:SyncTask" in table.output
    shown = json.loads(runner.invoke(tasks_app, ["show", "avqa"]).output)
    assert shown["benchmark"] == "MUSIC-AVQA" and shown["prediction_schema"][0]["name"] == "answers"
    bad = runner.invoke(tasks_app, ["show", "nope"])
    assert bad.exit_code != 0 and "known tasks" in str(bad.exception)
