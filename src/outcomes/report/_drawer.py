"""A second process that draws a report's figures while the first computes the next section
(and can fit a model the first will need, sent back as soon as it is fitted).

A figure is a function of :mod:`outcomes.plots` and the numbers it shows; drawing it and
encoding its PNG takes about a tenth of a second of matplotlib, seven times over, plus
matplotlib's import. :class:`Drawer` forks one process (before any thread starts, and before
the process that fits the slowest models, so that neither inherits the other), which imports
matplotlib at once, then draws each figure it is sent, in order, and keeps the
``data:image/png`` URI. :meth:`Drawer.collect` asks for them all when the page is rendered.
The same function on the same numbers gives the same image in either process; a figure the
drawer could not make (an error, the process gone) is drawn again in the first process,
where its error surfaces.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Drawer", "start_drawer", "can_fork"]

_POLL = 1.0  # seconds between checks that the drawer still runs, while waiting for it


def can_fork() -> bool:
    """Whether a second process may be forked here: on Linux, with a second core, from a
    process that is not itself daemonic, and while no other thread runs (a fork copies the
    locks another thread may hold)."""
    import multiprocessing
    import os
    import sys
    import threading

    return sys.platform.startswith("linux") and (os.cpu_count() or 1) >= 2 \
        and threading.active_count() == 1 and not multiprocessing.current_process().daemon


def start_drawer() -> Drawer | None:
    """A drawer, or None where a process cannot safely be forked here (:func:`can_fork`)."""
    if not can_fork():
        return None
    try:
        return Drawer()
    except OSError:
        return None


class Drawer:
    """One forked process drawing figures in the order they are sent."""

    def __init__(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs, self._connection),
                                        daemon=True, name="outcomes-figures")
        self._process.start()
        theirs.close()
        self._sent: list[Any] = []
        self._results: dict[Any, tuple[bool, Any]] = {}

    def submit(self, key: Any, fn: Any, args: tuple, kwargs: dict[str, Any], *,
               urgent: bool = False) -> bool:
        """Send ``fn(*args, **kwargs)`` to run; False when it cannot be sent (the caller runs
        it). A figure's URI is kept for :meth:`collect`; an ``urgent`` result is sent back as
        soon as it is made, for :meth:`result`."""
        try:
            self._connection.send((key, fn, args, kwargs, urgent))
        except Exception:  # noqa: BLE001 - unpicklable numbers, or the process gone
            return False
        if not urgent:
            self._sent.append(key)
        return True

    def result(self, key: Any) -> Any:
        """The result of the urgent job ``key``, waiting for it; raises ``RuntimeError`` when
        it failed or cannot come (the caller computes it)."""
        while key not in self._results:
            if not self._waited():
                raise RuntimeError("the drawer ended without an answer")
            _, done, ok, value = self._connection.recv()
            self._results[done] = (ok, value)
        ok, value = self._results.pop(key)
        if not ok:
            raise RuntimeError(f"the drawer could not compute {key!r}")
        return value

    def collect(self) -> dict[Any, str | None]:
        """The URI of every figure sent, by key (None for one that failed)."""
        if not self._sent:
            return {}
        try:
            self._connection.send(None)
            while self._waited():
                message = self._connection.recv()
                if message[0] == "figures":
                    return dict(message[1])
                self._results[message[1]] = (message[2], message[3])
        except Exception:  # noqa: BLE001 - the process ended: the caller draws them all
            pass
        return {}

    def _waited(self) -> bool:
        """Wait for the drawer's next message: True when one is there, False when the
        process ended without one (however long its work takes, it is not done twice)."""
        while not self._connection.poll(_POLL):
            if not self._process.is_alive():
                return self._connection.poll(0)
        return True

    def close(self) -> None:
        """End the process."""
        try:
            self._connection.close()
        finally:
            self._process.join(timeout=1)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join()


def _serve(connection: Any, parents: Any) -> None:  # pragma: no cover - forked process
    from outcomes._plotting import pyplot
    from outcomes.report._render import figure_uri

    parents.close()  # the first process's end: closing it there ends this loop

    pyplot()  # imported while the first process reads the study, with what its jobs use
    import outcomes.plots  # noqa: F401
    outbox = _Outbox(connection)
    drawn: dict[Any, str | None] = {}
    while True:
        try:
            job = connection.recv()
        except EOFError:
            return
        if job is None:
            outbox.last(("figures", drawn))
            return
        key, fn, args, kwargs, urgent = job
        if urgent:
            try:
                value, ok = fn(*args, **kwargs), True
            except Exception:  # noqa: BLE001 - computed again in the first process
                value, ok = None, False
            outbox.put(("result", key, ok, value))
            continue
        try:
            drawn[key] = figure_uri(fn(*args, **kwargs))
        except Exception:  # noqa: BLE001 - drawn again in the first process
            drawn[key] = None


class _Outbox:  # pragma: no cover - in the forked process
    """The drawer's messages, sent by a thread of their own: a result bigger than the pipe
    holds waits there until the first process reads it, while the drawer goes on reading
    the jobs the first process sends (neither can then wait on the other for ever)."""

    def __init__(self, connection: Any) -> None:
        import queue
        import threading

        self._connection = connection
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._send_all, daemon=True)
        self._thread.start()

    def put(self, message: tuple) -> None:
        self._queue.put(message)

    def last(self, message: tuple) -> None:
        """Send ``message`` after the others, and wait until all are sent."""
        self._queue.put(message)
        self._queue.put(None)
        self._thread.join()

    def _send_all(self) -> None:
        while (message := self._queue.get()) is not None:
            try:
                self._connection.send(message)
            except Exception:  # noqa: BLE001 - an unpicklable result: computed there
                if message[0] != "result":
                    return
                try:
                    self._connection.send(message[:2] + (False, None))
                except Exception:  # noqa: BLE001 - the first process is gone
                    return
