"""outcomes: coaching-outcome research in Python.

Validate session and survey data, score the instruments, and estimate how much of the
client's outcome each common-factor group (client, relationship, expectancy, technique)
accounts for, beside reference splits such as Asay & Lambert's 40/30/15/15.

The public names are loaded on first use, so that ``import outcomes`` and the ``outcomes``
command start quickly.

Examples
--------
>>> import outcomes as oc
>>> study = oc.load_sample()
>>> study.validate().ok
True
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "OutcomesError": "_errors",
    "DataError": "_errors",
    "UsageError": "_errors",
    "ModelError": "_errors",
    "DataWarning": "_errors",
    "ConvergenceWarning": "_errors",
    "read_table": "io",
    "read_workbook": "io",
    "write_table": "io",
    "validate": "validate",
    "validate_tables": "validate",
    "ValidationReport": "_validation",
    "instruments": "instruments",
    "score": "scoring",
    "reliability": "reliability",
    "cronbach_alpha": "reliability",
    "omega_total": "reliability",
    "gas_tscore": "goals",
    "gas_scores": "goals",
    "item_matrix": "scoring",
    "Reliability": "reliability",
    "Study": "study",
    "read_study": "study",
    "FACTORS": "analysis",
    "describe_columns": "analysis",
    "load_sample": "sample",
    "sample_truth": "sample",
    "simulate_study": "simulate",
    "SimulatedStudy": "simulate",
    "REFERENCES": "reference",
    "ReferenceSplit": "reference",
    "Comparison": "reference",
    "compare": "reference",
    "decompose": "importance",
    "Decomposition": "importance",
    "dominance": "dominance",
    "Dominance": "dominance",
    "change": "change",
    "Change": "change",
    "improvement_split": "improvement",
    "ImprovementSplit": "improvement",
    "expected_trajectories": "trajectories",
    "Trajectories": "trajectories",
    "session_scores": "trajectories",
    "monitor": "monitor",
    "Monitoring": "monitor",
    "multilevel": "multilevel",
    "MultilevelFit": "multilevel",
    "multilevel_shares": "multilevel_shares",
    "MultilevelShares": "multilevel_shares",
    "alliance_outcome": "longitudinal",
    "AllianceOutcome": "longitudinal",
    "session_table": "longitudinal",
    "power": "power",
    "Power": "power",
    "coach_effects": "funnel",
    "CoachEffects": "funnel",
    "build_norms": "norms",
    "read_norms": "norms",
    "Norms": "norms",
    "benchmark": "benchmark",
    "Benchmark": "benchmark",
    "write_template": "benchmark",
    "read_practice": "benchmark",
    "build_report": "report",
    "build_benchmark_report": "report",
    "ReportOptions": "report",
    "suppress_counts": "privacy",
    "pseudonyms": "privacy",
    "scale": "scale",
    "ScaledValidation": "scale",
    "map_export": "mapping",
    "read_mapping": "mapping",
    "suggest_mapping": "mapping",
    "MappedExport": "mapping",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from ._errors import *  # noqa: F403
    from .analysis import FACTORS, describe_columns  # noqa: F401
    from .sample import load_sample  # noqa: F401
    from .study import Study, read_study  # noqa: F401
    from .validate import ValidationReport, validate, validate_tables  # noqa: F401


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'outcomes' has no attribute {name!r}")
    loaded = importlib.import_module(f".{module}", __name__)
    value = getattr(loaded, name) if hasattr(loaded, name) else loaded
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package keeps a function under its name when its same-named module is imported.

    Importing ``outcomes.change`` would otherwise set ``outcomes.change`` to the module and
    hide the function ``change`` (likewise ``validate``, ``dominance``, ``monitor``, ...).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            isinstance(value, types.ModuleType)
            and value.__name__ == f"{__name__}.{name}"
            and _EXPORTS.get(name) == name
            and name != "instruments"
        ):
            return  # the module stays reachable as sys.modules["outcomes.<name>"]
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
