"""Headless Chromium started ahead of the page it prints, driven over its DevTools pipe.

Starting Chromium takes most of the time of ``chromium --print-to-pdf`` (about half a
second of a second). :class:`Printer` starts it while the report is still being computed,
with the same locked-down settings as the one-shot command (every host name unresolvable,
a throw-away profile and home folder, no extensions, the sandbox on except for root), and
prints the written HTML file once it exists, through the DevTools protocol on two pipes
(``--remote-debugging-pipe``: no port is opened). The print settings are those of
``--print-to-pdf --no-pdf-header-footer``: the page's own ``@page`` size and margins,
backgrounds, a tagged PDF, no header or footer. Anything unexpected (no executable, the
browser gone, an error answer, the time limit) makes :meth:`Printer.print_pdf` return False,
and the caller prints another way.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Printer", "PRINT_SETTINGS", "memory_folder", "chromium", "started_ahead",
           "take_started", "end_started", "CHROMIUM_SECONDS"]

#: Executable names of Chromium (Debian, other distributions, Google's build).
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: How long a print may take: a report of a few dozen pages prints in about one second.
CHROMIUM_SECONDS = 120

#: ``Page.printToPDF`` settings equal to ``--print-to-pdf --no-pdf-header-footer``.
PRINT_SETTINGS = {"printBackground": True, "preferCSSPageSize": True,
                  "displayHeaderFooter": False, "generateTaggedPDF": True}
_FLAGS = ("--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
          "--disable-extensions", "--disable-background-networking", "--disable-sync",
          "--mute-audio", "--host-resolver-rules=MAP * ~NOTFOUND", "--remote-debugging-pipe")


def chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable, or None. ``OUTCOMES_CHROMIUM`` names
    one explicitly; set it to an empty string to never use Chromium."""
    chosen = os.environ.get("OUTCOMES_CHROMIUM")
    if chosen is not None:
        return shutil.which(chosen) if chosen.strip() else None
    return next((found for name in _NAMES if (found := shutil.which(name))), None)


#: Chromiums started ahead (:func:`started_ahead`), for the next report in this process.
_WAITING: list[Printer] = []


@contextmanager
def started_ahead(wanted: bool = True) -> Iterator[None]:
    """A Chromium started now, when one is installed and ``wanted``, for the next report
    printed in this process (:func:`take_started`); ended at the end if none took it.

    The command line starts it before it imports the report's modules: Chromium's start-up
    (about half a second of a core) then runs beside those imports, on the core they leave
    idle, instead of beside the report's models. Chromium runs in a session of its own, so
    a ``SIGTERM`` to the command would not reach it: while it waits here, ``SIGTERM`` (when
    nothing else handles it) ends the command as an exception does, and Chromium with it.
    """
    executable = chromium() if wanted and os.name == "posix" else None
    handled = executable is not None and threading.current_thread() is threading.main_thread() \
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    if handled:  # before Chromium starts, so that no moment leaves it behind
        signal.signal(signal.SIGTERM, _exit_on_term)
    printer = None
    try:
        if executable is not None:
            held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            try:  # a SIGTERM waits until the printer is known, so it can be ended
                printer = Printer(executable, seconds=CHROMIUM_SECONDS)
                _WAITING.append(printer)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
        yield
    finally:
        if handled:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if printer is not None:
            end_started(printer)


def _kill_strays(folder: str) -> None:
    """Kill what Chromium started outside its process group: its crash handlers start in
    sessions of their own, outlive the group's kill, and write in the profile. They are
    found by the profile folder on their command line (Linux's ``/proc``)."""
    if not os.path.isdir("/proc"):
        return
    mark = folder.encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "cmdline"), "rb") as handle:
                found = mark in handle.read()
            if found:
                os.kill(int(entry.name), signal.SIGKILL)
        except OSError:  # gone meanwhile, or not ours to read
            continue


def _remove(folder: str, seconds: float = 2.0) -> None:
    """Remove Chromium's profile: its helper processes, killed with it, can still write
    there for a moment after the browser itself has ended, so the removal is tried again
    until the folder is gone (for at most ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        shutil.rmtree(folder, ignore_errors=True)
        if not os.path.exists(folder) or time.monotonic() > deadline:
            return
        time.sleep(0.01)


def _exit_on_term(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def end_started(printer: Printer | None = None) -> None:
    """End the Chromium started ahead (``printer``, or every one waiting) when no report
    will print with it: a report that took it ends it itself."""
    for waiting in [p for p in _WAITING if printer is None or p is printer]:
        _WAITING.remove(waiting)
        waiting.close()


def take_started() -> Printer | None:
    """The Chromium started ahead (:func:`started_ahead`) when it still runs, else None."""
    while _WAITING:
        printer = _WAITING.pop()
        if printer.running():
            return printer
        printer.close()
    return None


def _high(*fds: int) -> tuple[int, ...]:
    """The descriptors moved to 10 and above, clear of the 3 and 4 the shell sets."""
    import fcntl

    out = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return out


def memory_folder() -> str | None:
    """``/dev/shm`` where it is a writable folder (in memory: Chromium's profile, whose caches
    it fills at start, is then removed in milliseconds), else the usual temporary folder."""
    folder = "/dev/shm"
    return folder if os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK) else None


def _as_3_and_4(read: int, write: int) -> Any:
    """What the child runs before Chromium starts: the pipes become its descriptors 3 and 4
    (two system calls; every other descriptor of this process, none of them inheritable,
    closes on exec), and no signal is held back (the command holds SIGTERM while it starts
    Chromium)."""
    def arrange() -> None:
        os.dup2(read, 3)
        os.dup2(write, 4)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())  # Chromium's own signals, unheld

    return arrange


class Printer:
    """One headless Chromium, started now, that prints one page later (then ends)."""

    def __init__(self, executable: str, seconds: float = 120.0) -> None:
        self.seconds = seconds
        self._scratch = tempfile.mkdtemp(prefix="outcomes-pdf-", dir=memory_folder())
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self._next_id = 0
        ours_read, theirs_write = _high(*os.pipe())  # Chromium writes on its fd 4
        theirs_read, ours_write = _high(*os.pipe())  # and reads on its fd 3
        command = [executable, *_FLAGS, f"--user-data-dir={self._scratch}", "about:blank"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")
        try:
            self._process: subprocess.Popen | None = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, preexec_fn=_as_3_and_4(theirs_read, theirs_write),
                close_fds=False, start_new_session=True,
                env={**os.environ, "HOME": self._scratch})
        except (OSError, subprocess.SubprocessError):  # the caller prints another way
            self._process = None
        finally:
            os.close(theirs_read)
            os.close(theirs_write)
        self._read, self._write = ours_read, ours_write

    def print_pdf(self, page: Path, target: Path) -> bool:
        """Print the HTML file ``page`` to ``target``; False when that did not work."""
        if self._process is None:
            return False
        deadline = time.monotonic() + self.seconds
        try:
            created = self._call("Target.createTarget", {"url": "about:blank"}, deadline)
            attached = self._call("Target.attachToTarget",
                                  {"targetId": created["targetId"], "flatten": True}, deadline)
            session = attached["sessionId"]
            self._call("Page.enable", {}, deadline, session)
            opened = self._call("Page.navigate", {"url": Path(page).resolve().as_uri()},
                                deadline, session)
            if opened.get("errorText"):  # Chromium's error page is no report
                return False
            self._wait_event("Page.loadEventFired", session, deadline)
            printed = self._call("Page.printToPDF", PRINT_SETTINGS, deadline, session)
            data = base64.b64decode(printed["data"])
        except (OSError, ValueError, KeyError, TypeError, TimeoutError):
            return False
        if data[:5] != b"%PDF-":
            return False
        Path(target).write_bytes(data)
        return True

    def running(self) -> bool:
        """Whether Chromium was started and still runs."""
        return self._process is not None and self._process.poll() is None

    def close(self) -> None:
        """End Chromium and remove its profile (it holds nothing to keep, so it is stopped
        at once rather than asked to save and quit, which takes longer)."""
        process, self._process = self._process, None
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                pass
            process.wait()
        _kill_strays(self._scratch)
        for fd in (self._read, self._write):
            try:
                os.close(fd)
            except OSError:
                pass
        _remove(self._scratch)

    # -- the DevTools protocol: JSON messages ended by a NUL byte -------------------------
    def _send(self, method: str, params: dict[str, Any], session: str | None = None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        data = json.dumps(message).encode("utf-8") + b"\0"
        while data:
            data = data[os.write(self._write, data):]
        return self._next_id

    def _call(self, method: str, params: dict[str, Any], deadline: float,
              session: str | None = None) -> dict[str, Any]:
        wanted = self._send(method, params, session)
        while True:
            message = self._receive(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise ValueError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._events.append(message)

    def _wait_event(self, method: str, session: str, deadline: float) -> None:
        def seen() -> bool:
            return any(e.get("method") == method and e.get("sessionId") == session
                       for e in self._events)

        while not seen():
            self._events.append(self._receive(deadline))

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise OSError("Chromium ended")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)
