"""Type stub of the lazy public API: editors and mypy see each name's real signature.

Kept in step with ``_EXPORTS`` in ``__init__.py`` (a test compares them).
"""


from outcomes import instruments as instruments
from outcomes import partitioned as partitioned
from outcomes._errors import (
    ConvergenceWarning as ConvergenceWarning,
)
from outcomes._errors import (
    DataError as DataError,
)
from outcomes._errors import (
    DataWarning as DataWarning,
)
from outcomes._errors import (
    ModelError as ModelError,
)
from outcomes._errors import (
    OutcomesError as OutcomesError,
)
from outcomes._errors import (
    UsageError as UsageError,
)
from outcomes.analysis import FACTORS as FACTORS
from outcomes.analysis import describe_columns as describe_columns
from outcomes.benchmarking import (
    Benchmark as Benchmark,
)
from outcomes.benchmarking import (
    benchmark as benchmark,
)
from outcomes.benchmarking import (
    read_practice as read_practice,
)
from outcomes.benchmarking import (
    write_template as write_template,
)
from outcomes.io import (
    read_table as read_table,
)
from outcomes.io import (
    read_workbook as read_workbook,
)
from outcomes.io import (
    write_table as write_table,
)
from outcomes.mapping import (
    MappedExport as MappedExport,
)
from outcomes.mapping import (
    map_export as map_export,
)
from outcomes.mapping import (
    read_mapping as read_mapping,
)
from outcomes.mapping import (
    suggest_mapping as suggest_mapping,
)
from outcomes.measures.goals import gas_scores as gas_scores
from outcomes.measures.goals import gas_tscore as gas_tscore
from outcomes.measures.reliability import (
    Reliability as Reliability,
)
from outcomes.measures.reliability import (
    cronbach_alpha as cronbach_alpha,
)
from outcomes.measures.reliability import (
    omega_total as omega_total,
)
from outcomes.measures.reliability import (
    reliability as reliability,
)
from outcomes.measures.scoring import item_matrix as item_matrix
from outcomes.measures.scoring import score as score
from outcomes.mixed.alliance import (
    AllianceOutcome as AllianceOutcome,
)
from outcomes.mixed.alliance import (
    alliance_outcome as alliance_outcome,
)
from outcomes.mixed.fit import MultilevelFit as MultilevelFit
from outcomes.mixed.fit import multilevel as multilevel
from outcomes.mixed.sessions import session_table as session_table
from outcomes.mixed.shares import (
    MultilevelShares as MultilevelShares,
)
from outcomes.mixed.shares import (
    multilevel_shares as multilevel_shares,
)
from outcomes.norms import Norms as Norms
from outcomes.norms import build_norms as build_norms
from outcomes.norms import read_norms as read_norms
from outcomes.partitioned import ScaledValidation as ScaledValidation
from outcomes.practice.change import Change as Change
from outcomes.practice.change import change as change
from outcomes.practice.coach_effects import (
    CoachEffects as CoachEffects,
)
from outcomes.practice.coach_effects import (
    coach_effects as coach_effects,
)
from outcomes.practice.improvement import (
    ImprovementSplit as ImprovementSplit,
)
from outcomes.practice.improvement import (
    improvement_split as improvement_split,
)
from outcomes.practice.monitoring import Monitoring as Monitoring
from outcomes.practice.monitoring import monitor as monitor
from outcomes.practice.trajectories import (
    Trajectories as Trajectories,
)
from outcomes.practice.trajectories import (
    expected_trajectories as expected_trajectories,
)
from outcomes.practice.trajectories import (
    session_scores as session_scores,
)
from outcomes.privacy import pseudonyms as pseudonyms
from outcomes.privacy import suppress_counts as suppress_counts
from outcomes.reference import (
    REFERENCES as REFERENCES,
)
from outcomes.reference import (
    Comparison as Comparison,
)
from outcomes.reference import (
    ReferenceSplit as ReferenceSplit,
)
from outcomes.reference import (
    compare as compare,
)
from outcomes.report import (
    ReportOptions as ReportOptions,
)
from outcomes.report import (
    build_benchmark_report as build_benchmark_report,
)
from outcomes.report import (
    build_report as build_report,
)
from outcomes.sample import load_sample as load_sample
from outcomes.sample import sample_truth as sample_truth
from outcomes.shares.decomposition import Decomposition as Decomposition
from outcomes.shares.decomposition import decompose as decompose
from outcomes.shares.dominance import Dominance as Dominance
from outcomes.shares.dominance import dominance as dominance
from outcomes.shares.missingness import MissingnessReport as MissingnessReport
from outcomes.shares.power import Power as Power
from outcomes.shares.power import power as power
from outcomes.shares.sensitivity import Sensitivity as Sensitivity
from outcomes.shares.sensitivity import sensitivity as sensitivity
from outcomes.simulate.synthetic import (
    SimulatedStudy as SimulatedStudy,
)
from outcomes.simulate.synthetic import (
    simulate_study as simulate_study,
)
from outcomes.study import Study as Study
from outcomes.study import read_study as read_study
from outcomes.validation import (
    ValidationReport as ValidationReport,
)
from outcomes.validation import (
    validate as validate,
)
from outcomes.validation import (
    validate_tables as validate_tables,
)

__version__: str
__all__: list[str]
_EXPORTS: dict[str, str]

