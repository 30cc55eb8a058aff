"""The ``outcomes serve`` command: the web pages for coaches and bodies."""

from __future__ import annotations

import os
import tempfile

import click

from outcomes._errors import UsageError
from outcomes.cli._common import main

_EXTRA = ("outcomes serve needs the web extra, which is not installed here. Install it "
          "with: pip install 'outcomes[web]'")


def _check_extra() -> None:
    import importlib.util

    missing = [name for name in ("starlette", "uvicorn", "multipart")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"{_EXTRA} (missing: {', '.join(missing)}).")


@main.command("serve")
@click.option("--norms", type=click.Path(exists=True, dir_okay=False),
              help="The body's norms file coaches benchmark against (from `outcomes norms`).")
@click.option("--host", help="Address to listen on [127.0.0.1: this computer only].")
@click.option("--port", type=int, help="Port to listen on [8000].")
@click.option("--workers", type=int, help="Server processes [1].")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="TOML file of settings (see docs/web-bodies.md); OUTCOMES_WEB_* "
                   "variables win over it, and these options over both.")
@click.option("--check", is_flag=True,
              help="Check the settings and the norms file, say what would be served, and "
                   "exit without serving.")
def serve_command(norms: str | None, host: str | None, port: int | None,
                  workers: int | None, config_file: str | None, check: bool) -> None:
    """Serve the web pages: coaches benchmark a workbook; bodies validate and report.

    The coach's page (/coach) takes the workbook from `outcomes template` and shows its
    problems and its benchmark against --norms. The body's pages (/body) take a zipped study
    folder or survey exports with a mapping, and give the validation, the report and the
    norms; they hold identifiable data, so they are served only on this computer unless
    OUTCOMES_WEB_TOKEN sets an access token (then only with it). Uploads are deleted when
    the page or download is done. Needs the web extra: pip install 'outcomes[web]'.
    """
    _check_extra()
    import uvicorn

    from outcomes.web.config import load_config

    config = load_config(config_file, norms=norms, host=host, port=port, workers=workers)
    if config.norms:
        from outcomes.norms import read_norms

        read_norms(config.norms)  # a norms file that cannot be read stops here, with its reason
    if check:
        where = "this computer only" if config.loopback else f"every address ({config.host})"
        body = "with the access token" if config.token else "on this computer only"
        click.echo(f"Settings are valid: {config.workers} worker(s) on port {config.port}, "
                   f"{where}; the body's pages {body}; norms: "
                   f"{config.norms or 'none (coaches upload their own)'}.")
        return
    made = None
    if config.tmp_dir is None:  # one private root, shared by the workers, removed at the end
        made = tempfile.mkdtemp(prefix="outcomes-web-")
    environment = load_config(config_file, norms=norms, host=host, port=port, workers=workers,
                              tmp_dir=config.tmp_dir or made,
                              secret=config.secret or os.urandom(24).hex()).to_environment()
    os.environ.update(environment)
    os.environ.pop("OUTCOMES_WEB_CONFIG", None)
    where = f"http://{'[' + config.host + ']' if ':' in config.host else config.host}:{config.port}"
    click.echo(f"Serving on {where}/ (coaches: {where}/coach, bodies: {where}/body). "
               "Stop with Ctrl+C.")
    if not config.loopback and not config.token:
        click.echo("Note: no access token is set, so the body's pages answer only requests "
                   "made on this computer. Set OUTCOMES_WEB_TOKEN to open them, with it.",
                   err=True)
    if not config.norms:
        click.echo("Note: no --norms given: coaches must upload their body's norms.json with "
                   "the workbook.", err=True)
    try:
        uvicorn.run("outcomes.web.app:app_from_environment", factory=True, host=config.host,
                    port=config.port, workers=config.workers, log_level="info",
                    proxy_headers=config.proxy, server_header=False)
    finally:
        if made:
            import shutil

            shutil.rmtree(made, ignore_errors=True)
