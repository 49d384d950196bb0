"""Energy records: codecarbon offline, the schema and the mode it reports, totals, the runner's field."""

from __future__ import annotations

import time

import pytest

from avikit.eval.energy import EnergyMeter, power_source, read_energy, summarize_energy
from avikit.eval.runner import RunConfig, run_evaluation


def test_meter_records_a_span_with_its_schema(tmp_path):
    meter = EnergyMeter("FRA", measure_power_secs=1)
    record = {"model": "m"}
    with meter.track("work", record, tmp_path / "e.jsonl"):
        sum(i * i for i in range(200_000))
    meter.close()
    assert meter.status == "recorded"
    assert record["power_source"] == power_source() in ("rapl", "estimate")
    assert record["energy_kwh"] > 0 and record["emissions_kg"] > 0 and record["seconds"] > 0
    assert record["country"] == "FRA"
    assert read_energy(tmp_path / "e.jsonl") == [record]


def test_a_span_name_used_again_measures_its_own_span():
    # the runner names one span per model chunk "task/model/condition", the same for every chunk
    meter = EnergyMeter(None)
    records: list[dict] = [{}, {}, {}]
    for record, seconds in zip(records, (0.05, 0.3, 0.05), strict=True):
        with meter.track("task/model/clean", record):
            time.sleep(seconds)
    meter.close()
    measured = [r["seconds"] for r in records]
    # sleep() overshoots by scheduler latency, never undershoots; 0.2 s covers a loaded 2-core machine
    assert all(s <= m < s + 0.2 for m, s in zip(measured, (0.05, 0.3, 0.05), strict=True)), measured
    assert all(r["energy_kwh"] > 0 for r in records)


def test_without_country_emissions_stay_unknown(tmp_path):
    meter = EnergyMeter(None)
    record: dict = {"model": "m"}
    with meter.track("work", record):
        pass
    meter.close()
    assert record["emissions_kg"] is None and record["energy_kwh"] >= 0


def test_summary_sums_per_model_and_in_total():
    rows = [
        {"model": "a", "energy_kwh": 1.0, "emissions_kg": 0.5, "seconds": 2.0, "power_source": "estimate"},
        {"model": "a", "energy_kwh": 2.0, "emissions_kg": 0.25, "seconds": 1.0, "power_source": "estimate"},
        {"model": "b", "energy_kwh": 4.0, "emissions_kg": None, "seconds": 3.0, "power_source": "estimate"},
    ]
    summary = summarize_energy(rows)
    assert summary["per_model"]["a"] == {"energy_kwh": 3.0, "emissions_kg": 0.75, "seconds": 3.0}
    assert summary["total"] == {"energy_kwh": 7.0, "emissions_kg": None, "seconds": 6.0}
    assert summary["power_source"] == ["estimate"]


@pytest.mark.parametrize("energy", [True, False])
def test_runner_writes_energy_per_model(tmp_path, energy):
    config = RunConfig(
        tasks=("sync",), models=("chance", "oracle"), num_samples=2, energy=energy, energy_country="DEU"
    )
    results = run_evaluation(config, tmp_path)
    if not energy:
        assert "energy" not in results
        return
    assert set(results["energy"]["per_model"]) == {"chance-seed0", "oracle"}  # model ids
    assert results["energy"]["total"]["energy_kwh"] >= 0 and results["energy"]["status"] == "recorded"
    again = run_evaluation(config, tmp_path)  # a resumed run adds its own (near-empty) spans
    assert again["energy"]["total"]["seconds"] >= results["energy"]["total"]["seconds"]
