"""The one set of argument checks, and the wording of the arguments shared by the models.

Every public function that takes ``ci_level``, ``n_boot``, ``seed``, ``ci_method``, ``cluster``
or ``covariates`` checks it here, so that the same argument means the same thing, is refused
with the same message, and is described with the same words everywhere. Docstrings name a
shared parameter by a line ``{ci_level}`` (alone on its line, indented as the parameter
list) and :func:`shared_parameters` fills it in.

Old keyword names keep working for one release: :func:`renamed` maps them to the new name
with a :class:`FutureWarning` that names the new one; :func:`old_attribute` does the same
for an attribute of a result.

Examples
--------
>>> check_ci_level(0.9, "decompose")
0.9
>>> check_ci_level(95, "decompose")
Traceback (most recent call last):
...
outcomes._errors.UsageError: decompose: ci_level must lie between 0 and 1 (e.g. 0.95), not 95.
"""

from __future__ import annotations

import functools
import numbers
import re
import textwrap
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from outcomes._errors import UsageError

__all__ = [
    "PARAMETERS", "shared_parameters", "renamed", "old_attribute", "check_ci_level", "check_n_boot",
    "check_seed", "check_choice", "check_covariates", "check_factors", "check_positive_int",
    "DEFAULT_SEED",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The seed every command of ``outcomes`` uses when ``--seed`` is not given, so that two runs
#: of the same command on the same data give the same numbers (and the same files). Each
#: command records the seed it used in its output. The Python functions keep ``seed=None``
#: (fresh random draws) as their default: a script states its seed.
DEFAULT_SEED = 2024

#: The wording of each shared parameter, written once (numpydoc, without indentation).
PARAMETERS: dict[str, str] = {
    "covariates": """\
covariates : sequence of str, default ()
    Columns always in the model (for example the intake score ``baseline``). Their part of
    the outcome is taken out first; the factors share what remains.""",
    "cluster": """\
cluster : str or None
    The column that names each client's coach. Clients of one coach are resampled together
    in the bootstrap and share the coach's random intercept in mixed models.""",
    "n_boot": """\
n_boot : int, default 0
    Bootstrap replicates for the intervals; 0 gives estimates without intervals.""",
    "ci_method": """\
ci_method : {"bca", "percentile"}, default "bca"
    How intervals are read from the bootstrap replicates: bias-corrected and accelerated
    (Efron 1987), or plain percentiles.""",
    "ci_level": """\
ci_level : float, default 0.95
    The coverage of every interval, between 0 and 1 (0.95 gives 95 % intervals).""",
    "seed": """\
seed : int, numpy.random.Generator or None
    Seed of the random draws; the same seed gives the same numbers on every run. None draws
    fresh numbers each time (the ``outcomes`` command uses a fixed seed instead,
    ``DEFAULT_SEED``, when ``--seed`` is not given).""",
    "missing": """\
missing : {"listwise", "mi", "em"}, default "listwise"
    How rows with missing values are handled: left out (complete cases), multiply imputed
    by chained equations and pooled, or kept in the maximum-likelihood (EM) covariance
    under missing at random; ``mi`` and ``em`` keep every client (intention to treat). The
    result's ``.missingness`` reports what was missing; see :mod:`outcomes.shares.missing`.""",
    "n_imputations": """\
n_imputations : int, optional
    Imputations for ``missing="mi"``; the default is 100 times the fraction of incomplete
    rows, at least 5 (White, Royston & Wood 2011).""",
    "engine": """\
engine : {"pandas", "dask"} or None
    Which engine holds the data: a pandas frame in memory or a Dask frame read part by part.
    None takes the engine of ``data``.""",
}

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)\{(?P<name>\w+)\}[ \t]*$", re.M)


def shared_parameters(func: F) -> F:
    """Fill the ``{name}`` lines of a docstring with the shared parameter wording.

    Examples
    --------
    >>> @shared_parameters
    ... def f(ci_level=0.95):
    ...     '''Parameters
    ...     ----------
    ...     {ci_level}
    ...     '''
    >>> "coverage of every interval" in f.__doc__
    True
    """
    if func.__doc__:
        def fill(match: re.Match[str]) -> str:
            text = PARAMETERS.get(match["name"])
            if text is None:
                return match[0]
            return textwrap.indent(text, match["indent"])

        func.__doc__ = _PLACEHOLDER.sub(fill, func.__doc__)
    return func


def renamed(when: str = "the next release", **old_to_new: str) -> Callable[[F], F]:
    """Accept old keyword names for one release, with a FutureWarning naming the new one.

    Examples
    --------
    >>> @renamed(group="cluster")
    ... def f(*, cluster="coach_id"):
    ...     return cluster
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     f(group="coach")
    'coach'
    >>> str(caught[0].message)
    'f(group=...) is now f(cluster=...); the old name goes in the next release.'
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old not in kwargs:
                    continue
                name = func.__name__
                if new in kwargs:
                    raise UsageError(f"{name}: give {new}= only; {old}= is its old name.")
                warnings.warn(f"{name}({old}=...) is now {name}({new}=...); the old name goes "
                              f"in {when}.", FutureWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        wrapper.renamed_keywords = dict(old_to_new)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def old_attribute(old: str, new: str) -> property:
    """A read-only attribute ``old`` of a result that gives ``new`` with a FutureWarning.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Fit:
    ...     cluster: str
    ...     group = old_attribute("group", "cluster")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     Fit("coach_id").group
    'coach_id'
    >>> str(caught[0].message)
    'Fit.group is now Fit.cluster; the old name goes in the next release.'
    """

    def get(self: Any) -> Any:
        name = type(self).__name__
        warnings.warn(f"{name}.{old} is now {name}.{new}; the old name goes in the next "
                      "release.", FutureWarning, stacklevel=2)
        return getattr(self, new)

    return property(get, doc=f"Old name of ``{new}``, kept for one release.")


def check_ci_level(ci_level: Any, caller: str) -> float:
    """``ci_level`` as a float strictly between 0 and 1."""
    if (isinstance(ci_level, bool) or not isinstance(ci_level, numbers.Real)
            or not 0 < float(ci_level) < 1):
        raise UsageError(f"{caller}: ci_level must lie between 0 and 1 (e.g. 0.95), "
                         f"not {ci_level!r}.")
    return float(ci_level)


def check_positive_int(value: Any, name: str, caller: str, *, minimum: int = 0) -> int:
    """A whole number at least ``minimum`` (numpy integers and whole floats accepted)."""
    whole = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and float(value).is_integer())
    if isinstance(value, bool) or not whole or int(value) < minimum:
        raise UsageError(f"{caller}: {name} must be a whole number of at least {minimum}, "
                         f"not {value!r}.")
    return int(value)


def check_n_boot(n_boot: Any, caller: str, *, minimum: int = 0) -> int:
    """``n_boot`` as a whole number (0: no bootstrap)."""
    n = check_positive_int(n_boot, "n_boot", caller)
    if 0 < n < minimum:
        raise UsageError(f"{caller}: n_boot must be 0 (no intervals) or at least {minimum}, "
                         f"not {n}; 1000 or more gives stable 95 % intervals.")
    return n


def check_seed(seed: Any, caller: str) -> Any:
    """``seed`` as given, once it is None, a whole number >= 0, a Generator or SeedSequence."""
    if seed is None or isinstance(seed, np.random.Generator | np.random.SeedSequence):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and int(seed) >= 0:
        return int(seed)
    raise UsageError(f"{caller}: seed must be a whole number of at least 0, a "
                     f"numpy.random.Generator or None, not {seed!r}.")


def check_choice(value: Any, name: str, allowed: Iterable[str], caller: str) -> str:
    """``value`` if it is one of ``allowed``; otherwise a message that lists them."""
    options = tuple(allowed)
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise UsageError(f"{caller}: {name} must be one of {listed}, not {value!r}.")
    return str(value)


def check_covariates(covariates: Any, caller: str) -> tuple[str, ...]:
    """``covariates`` as a tuple of column names (a single name is accepted)."""
    if covariates is None:
        return ()
    if isinstance(covariates, str):
        return (covariates,)
    if not isinstance(covariates, Sequence | set | frozenset | tuple) or not all(
            isinstance(c, str) for c in covariates):
        raise UsageError(f"{caller}: covariates must be a list of column names, "
                         f"not {covariates!r}.")
    return tuple(covariates)


def check_factors(factors: Any, caller: str, *,
                  allow_empty: bool = False) -> dict[str, tuple[str, ...]]:
    """Factor name -> its columns, from a mapping, a list of columns or a single column.

    Each column belongs to one factor only. ``allow_empty`` accepts no factor at all (the
    null model of a mixed model).

    Examples
    --------
    >>> check_factors({"relationship": ["bond", "task"], "expectancy": "hope"}, "decompose")
    {'relationship': ('bond', 'task'), 'expectancy': ('hope',)}
    >>> check_factors(["hope", "bond"], "decompose")
    {'hope': ('hope',), 'bond': ('bond',)}
    """
    if isinstance(factors, str):
        factors = [factors]
    if isinstance(factors, Mapping):
        groups = {str(k): (v,) if isinstance(v, str) else tuple(v) for k, v in factors.items()}
    elif isinstance(factors, Sequence):
        groups = {str(c): (c,) for c in factors}
    else:
        null = " (an empty list fits the null model)" if allow_empty else ""
        raise UsageError(f"{caller}(): factors must map factor names to column lists, "
                         f"or list columns{null}.")
    if not groups and not allow_empty:
        raise UsageError(f"{caller}(): give at least one factor.")
    seen: dict[str, str] = {}
    for name, cols in groups.items():
        if not cols:
            raise UsageError(f'{caller}(): factor "{name}" has no columns; give at least one.')
        for c in cols:
            if c in seen:
                raise UsageError(f'column "{c}" is in factor "{seen[c]}" and in "{name}"; '
                                 "a column can belong to one factor only.")
            seen[c] = name
    return groups
