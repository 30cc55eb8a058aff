"""The web face: coaches benchmark themselves and bodies validate and report, in a browser.

``outcomes serve`` runs it (:mod:`outcomes.cli.serve`); :func:`~outcomes.web.app.create_app`
builds the ASGI application. The pages sit on the public API: the coach's page on
:func:`outcomes.benchmarking.read_practice`, :func:`~outcomes.benchmarking.benchmark` and
:func:`outcomes.report.build_benchmark_report`; the body's pages on
:func:`outcomes.read_study`, validation, :func:`outcomes.report.build_report` and
:func:`outcomes.norms.build_norms`.

Nothing is stored: uploads are read in private temporary folders removed when the page or
the job's download is done (:mod:`~outcomes.web.files`); the body's pages are served only on
this computer unless an access token is set (:mod:`~outcomes.web.security`). The web stack
(Starlette, uvicorn, python-multipart) is the ``web`` extra: ``pip install 'outcomes[web]'``.
Settings: :mod:`~outcomes.web.config`.
"""
