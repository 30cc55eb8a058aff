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
import warnings
from typing import Any

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
    "validate": "validation",
    "validate_tables": "validation",
    "ValidationReport": "validation",
    "instruments": "instruments",
    "score": "measures.scoring",
    "item_matrix": "measures.scoring",
    "reliability": "measures.reliability",
    "cronbach_alpha": "measures.reliability",
    "omega_total": "measures.reliability",
    "Reliability": "measures.reliability",
    "gas_tscore": "measures.goals",
    "gas_scores": "measures.goals",
    "Study": "study",
    "read_study": "study",
    "FACTORS": "analysis",
    "describe_columns": "analysis",
    "load_sample": "sample",
    "sample_truth": "sample",
    "simulate_study": "simulate.synthetic",
    "SimulatedStudy": "simulate.synthetic",
    "REFERENCES": "reference",
    "ReferenceSplit": "reference",
    "Comparison": "reference",
    "compare": "reference",
    "decompose": "shares.decomposition",
    "Decomposition": "shares.decomposition",
    "dominance": "shares.dominance",
    "Dominance": "shares.dominance",
    "sensitivity": "shares.sensitivity",
    "Sensitivity": "shares.sensitivity",
    "MissingnessReport": "shares.missingness",
    "power": "shares.power",
    "Power": "shares.power",
    "multilevel": "mixed.fit",
    "MultilevelFit": "mixed.fit",
    "multilevel_shares": "mixed.shares",
    "MultilevelShares": "mixed.shares",
    "alliance_outcome": "mixed.alliance",
    "AllianceOutcome": "mixed.alliance",
    "session_table": "mixed.sessions",
    "change": "practice.change",
    "Change": "practice.change",
    "improvement_split": "practice.improvement",
    "ImprovementSplit": "practice.improvement",
    "expected_trajectories": "practice.trajectories",
    "Trajectories": "practice.trajectories",
    "session_scores": "practice.trajectories",
    "monitor": "practice.monitoring",
    "Monitoring": "practice.monitoring",
    "coach_effects": "practice.coach_effects",
    "CoachEffects": "practice.coach_effects",
    "build_norms": "norms",
    "read_norms": "norms",
    "Norms": "norms",
    "benchmark": "benchmarking",
    "Benchmark": "benchmarking",
    "write_template": "benchmarking",
    "read_practice": "benchmarking",
    "build_report": "report",
    "build_benchmark_report": "report",
    "ReportOptions": "report",
    "suppress_counts": "privacy",
    "pseudonyms": "privacy",
    "partitioned": "partitioned",
    "ScaledValidation": "partitioned",
    "map_export": "mapping",
    "read_mapping": "mapping",
    "suggest_mapping": "mapping",
    "MappedExport": "mapping",
}

# old public name -> (new public name, when it goes)
_RENAMED = {"scale": ("partitioned", "the next release")}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _RENAMED:
        new, when = _RENAMED[name]
        warnings.warn(f"outcomes.{name} is now outcomes.{new}; the old name goes in {when}.",
                      FutureWarning, stacklevel=2)
        return __getattr__(new)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'outcomes' has no attribute {name!r}")
    loaded = importlib.import_module(f".{module}", __name__)
    value = loaded if module == name else getattr(loaded, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
