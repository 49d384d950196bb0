"""Energy and CO2 of a run, per cell and per model, measured with codecarbon in offline mode.

:class:`EnergyMeter` wraps one ``codecarbon.OfflineEmissionsTracker`` (no network: the carbon intensity
of ``country_iso_code`` comes from codecarbon's bundled tables) and measures named spans of work
(``start_task``/``stop_task``). CPU power comes from RAPL when the machine lets the process read it, else
from codecarbon's TDP table times the load, else a constant; :func:`power_source` says which applies, and
every record states it. Energy (kWh) does not depend on the country; emissions (kg CO2eq) do, and are
recorded only when a country is configured.

Without the ``codecarbon`` package (``pip install 'avikit[energy]'``) the meter records nothing and says
so in its summary (``"status"``), with a log line.

Example:
    >>> rows = [{"model": "a", "energy_kwh": 1e-6, "emissions_kg": None, "seconds": 2.0}]
    >>> summarize_energy(rows)["per_model"]
    {'a': {'energy_kwh': 1e-06, 'emissions_kg': None, 'seconds': 2.0}}
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["EnergyMeter", "power_source", "read_energy", "summarize_energy"]

log = logging.getLogger(__name__)

_RAPL = Path("/sys/class/powercap/intel-rapl:0/energy_uj")
_ANY_COUNTRY = "USA"  # codecarbon needs a country; its emissions are dropped when none is configured


def power_source() -> str:
    """``"rapl"`` when the CPU's energy counter is readable, else ``"estimate"`` (TDP table or constant)."""
    return "rapl" if _RAPL.is_file() and os.access(_RAPL, os.R_OK) else "estimate"


class EnergyMeter:
    """Measures named spans of one run; a no-op (with a stated status) without codecarbon.

    Args:
        country_iso_code: 3-letter ISO code of where the run happens (emissions), or ``None``.
        measure_power_secs: codecarbon's sampling interval (at most 1 s suits short spans).
    """

    def __init__(self, country_iso_code: str | None = None, measure_power_secs: float = 1.0) -> None:
        self.country = country_iso_code
        self.tracker: Any = None
        self.status = "off"
        self.spans = 0
        try:
            from codecarbon import OfflineEmissionsTracker
        except ImportError:
            self.status = "codecarbon is not installed: pip install 'avikit[energy]'"
            log.warning("energy not recorded: %s", self.status)
            return
        self.tracker = OfflineEmissionsTracker(
            country_iso_code=country_iso_code or _ANY_COUNTRY,
            measure_power_secs=measure_power_secs,
            output_methods=[],
            log_level="error",
            tracking_mode="process",
        )
        self.tracker.start()
        self.status = "recorded"

    @contextmanager
    def track(self, name: str, record: dict[str, Any], out: Path | None = None) -> Iterator[None]:
        """Measure the block; add ``seconds``, ``energy_kwh``, ``emissions_kg`` and more to ``record``.

        With ``out``, the record is appended to that JSONL file.
        """
        if self.tracker is None:
            yield
            return
        self.spans += 1
        span = f"{name}#{self.spans}"  # codecarbon loses a task whose name was used before
        self.tracker.start_task(span)
        try:
            yield
        finally:
            data = self.tracker.stop_task(span)
            record.update(
                seconds=float(data.duration),
                energy_kwh=float(data.energy_consumed),
                emissions_kg=float(data.emissions) if self.country else None,
                cpu_power_w=float(data.cpu_power),
                power_source=power_source(),
                country=self.country,
                codecarbon_version=str(data.codecarbon_version),
            )
            if out is not None:
                out.parent.mkdir(parents=True, exist_ok=True)
                with out.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")

    def close(self) -> None:
        """Stop the tracker."""
        if self.tracker is not None:
            self.tracker.stop()
            self.tracker = None


def read_energy(path: Path) -> list[dict[str, Any]]:
    """The energy records of a cell (every run that did work in it); ``[]`` when none."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def summarize_energy(records: Sequence[Mapping[str, Any]], status: str = "recorded") -> dict[str, Any]:
    """Totals per model and for the run from cell records (each with ``model``, ``energy_kwh``, ...)."""

    def total(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        emissions = [r.get("emissions_kg") for r in rows]
        known = [float(e) for e in emissions if e is not None]
        return {
            "energy_kwh": sum(float(r["energy_kwh"]) for r in rows),
            "emissions_kg": sum(known) if len(known) == len(emissions) else None,
            "seconds": sum(float(r["seconds"]) for r in rows),
        }

    models = sorted({str(r["model"]) for r in records})
    sources = sorted({str(r.get("power_source")) for r in records if r.get("power_source")})
    return {
        "status": status,
        "power_source": sources,
        "per_model": {m: total([r for r in records if r["model"] == m]) for m in models},
        "total": total(records) if records else None,
    }
