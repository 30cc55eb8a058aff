"""The web application's settings: defaults, then one TOML file, then environment variables.

Every setting has an environment variable, ``OUTCOMES_WEB_`` and its name in capitals
(``OUTCOMES_WEB_TOKEN``, ``OUTCOMES_WEB_MAX_UPLOAD_BYTES``); a TOML file holds the same names
as keys, at the top or under ``[web]``. A variable that is set wins over the file, and an
option of ``outcomes serve`` wins over both. The access token is best given as a variable
(or in a file only its owner can read): an option would show in the list of processes.

Examples
--------
>>> config = load_config(environ={"OUTCOMES_WEB_MAX_JOBS": "3"})
>>> config.max_jobs, config.host
(3, '127.0.0.1')
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from outcomes._errors import UsageError

__all__ = ["WebConfig", "load_config", "variable", "is_loopback"]

_PREFIX = "OUTCOMES_WEB_"


@dataclass(frozen=True)
class WebConfig:
    """What the web application does and within which limits.

    Attributes
    ----------
    host, port : str, int
        Where ``outcomes serve`` listens (default ``127.0.0.1:8000``, this computer only).
    workers : int
        Server processes (each runs its own coach pages; jobs are shared through ``tmp_dir``).
    norms : str, optional
        The body's norms file the coach's page benchmarks against.
    token : str, optional
        The access token of the body's pages. Without it they are served only to this
        computer (a loopback address, no proxy in between); with it, only with it.
    secret : str, optional
        Key of the form tokens (CSRF). Random per process when not set; set one when several
        workers serve the same site.
    tmp_dir : str, optional
        Where the private temporary folders are made (default: a new folder under the
        system's temporary directory, removed when the server stops).
    max_upload_bytes, max_files : int
        Largest request body, and most files in one upload (beyond: 413 with a message).
    max_total_upload_bytes : int
        Most bytes of request bodies one server process receives or holds at once (beyond:
        503, try again), which bounds the memory and temporary disk that uploads can fill.
    upload_idle_seconds : int
        How long an upload may send nothing before it is dropped (408).
    max_zip_entries : int
        Most entries in an uploaded zip.
    max_jobs : int
        Body jobs running at once (beyond: 503, try again later).
    keep_minutes : int
        How long a finished result waits to be downloaded before it is deleted.
    k, n_boot : int
        Suppression threshold and bootstrap replicates of the body's report and norms.
    report_pdf : bool
        Make the body report's PDF in the job.
    salt_file : str, optional
        The body's pseudonym key (default ``~/.outcomes/pseudonym.salt``); never uploaded.
    proxy : bool
        Behind a reverse proxy that terminates HTTPS: cookies are marked Secure.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    norms: str | None = None
    token: str | None = None
    secret: str | None = None
    tmp_dir: str | None = None
    max_upload_bytes: int = 100_000_000
    max_files: int = 10
    max_total_upload_bytes: int = 400_000_000
    upload_idle_seconds: int = 60
    max_zip_entries: int = 2_000
    max_jobs: int = 2
    keep_minutes: int = 30
    k: int = 5
    n_boot: int = 200
    report_pdf: bool = True
    salt_file: str | None = None
    proxy: bool = False

    def __post_init__(self) -> None:
        for name in ("port", "workers", "max_upload_bytes", "max_files", "max_zip_entries",
                     "max_jobs", "keep_minutes", "k", "max_total_upload_bytes",
                     "upload_idle_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"web setting {name} = {value!r}: give a whole number above "
                                 f"0 ({variable(name)}).")
        if self.max_total_upload_bytes < self.max_upload_bytes:
            raise UsageError(f"web setting max_total_upload_bytes = "
                             f"{self.max_total_upload_bytes:,} is below max_upload_bytes = "
                             f"{self.max_upload_bytes:,}: give at least as much "
                             f"({variable('max_total_upload_bytes')}).")
        if self.n_boot < 0:
            raise UsageError(f"web setting n_boot = {self.n_boot}: give 0 or more.")
        if self.token is not None and len(self.token) < 16:
            raise UsageError(f"the access token ({variable('token')}) has {len(self.token)} "
                             "characters; use at least 16 random ones, e.g. from "
                             "`python -c 'import secrets; print(secrets.token_urlsafe())'`.")

    @property
    def loopback(self) -> bool:
        """Whether the server listens on a loopback address only."""
        return is_loopback(self.host)

    def to_environment(self) -> dict[str, str]:
        """The settings as environment variables (for worker processes)."""
        out = {}
        for name, value in asdict(self).items():
            if value is not None:
                out[variable(name)] = str(value).lower() if isinstance(value, bool) else str(
                    value)
        return out


def variable(name: str) -> str:
    """The environment variable of a setting.

    >>> variable("max_jobs")
    'OUTCOMES_WEB_MAX_JOBS'
    """
    return _PREFIX + name.upper()


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``).

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


def _convert(name: str, kind: Any, value: Any, where: str) -> Any:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if "bool" in str(kind):
        if isinstance(value, bool):
            return value
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise UsageError(f"{where}: {name} = {text!r} is not true or false.")
    if "int" in str(kind):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if not text.replace("_", "").isdigit():
            raise UsageError(f"{where}: {name} = {text!r} is not a whole number.")
        return int(text.replace("_", ""))
    return text


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None,
                **given: Any) -> WebConfig:
    """The settings from a TOML file, the environment and ``given`` (which win).

    Raises
    ------
    UsageError
        For an unknown key in the file or a value of the wrong kind.
    """
    environ = os.environ if environ is None else environ
    kinds = {f.name: f.type for f in fields(WebConfig)}
    values: dict[str, Any] = {}
    if path is not None:
        from outcomes.io import read_toml

        document = read_toml(path)
        table = document.get("web", document)
        unknown = sorted(set(table) - set(kinds))
        if unknown:
            raise UsageError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: "
                             f"{', '.join(kinds)}.")
        values.update({k: _convert(k, kinds[k], v, str(path)) for k, v in table.items()})
    for name, kind in kinds.items():
        if variable(name) in environ:
            values[name] = _convert(name, kind, environ[variable(name)], variable(name))
    values.update({k: v for k, v in given.items() if v is not None})
    return WebConfig(**{k: v for k, v in values.items() if v is not None})
