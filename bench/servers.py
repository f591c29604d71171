"""The processes of a benchmark: timed one-shot commands, and servers that are always stopped.

A one-shot command (an ingest) is waited for with `os.wait4`, whose resource usage gives its
peak resident set size. A server runs in a session of its own, so that stopping it (SIGTERM to
its process group, SIGKILL if it lingers) also stops the workers it spawned; its output goes to
a log file, never to a pipe nobody reads (a full pipe would stall the server mid-benchmark).
"""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PROC = Path("/proc")
STARTED = "Application startup complete."


class ProcessError(RuntimeError):
    """A command failed or a server did not come up."""


@dataclass(frozen=True)
class Timed:
    seconds: float
    peak_rss_kib: int
    output: str


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def timed_run(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path, timeout: float = 7200
) -> Timed:
    """Run `argv` to completion: wall-clock seconds and peak RSS (KiB, Linux's `ru_maxrss`)."""
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=None
        )
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise ProcessError(f"{' '.join(argv)} took over {timeout} s")
            time.sleep(0.01)
    seconds = time.perf_counter() - started
    # Popen must not wait for a child that wait4 already reaped.
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise ProcessError(
            f"{' '.join(argv)} exited with {proc.returncode}; its output:\n{tail(log)}"
        )
    return Timed(seconds, usage.ru_maxrss, log.read_text(errors="replace"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (2nd field) is in parentheses and may hold spaces.
    return raw[raw.rindex(")") + 2 :].split()


def group_members(pgid: int) -> list[int]:
    """Every live process whose process group is `pgid`."""
    members = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            # After the name: state, ppid, pgrp; a zombie holds no memory and is ignored.
            if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return sorted(members)


def children(pid: int) -> list[int]:
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


def cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def rss_kib(pid: int) -> int:
    """The resident set size of `pid` now (VmRSS, in KiB)."""
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ProcessError(f"process {pid} has no VmRSS")


def alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


@dataclass
class Server:
    """A server process in its own session, started by `start` and always ended by `stop`."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path
    port: int
    ready_path: str
    # Worker processes that must have logged uvicorn's "Application startup complete." (the
    # ready path answers as soon as one of them is up).
    workers_expected: int = 1
    proc: subprocess.Popen[bytes] | None = None
    # Every process seen in its group: the test suite checks that none is left.
    seen: set[int] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.seen.add(self.proc.pid)

    def wait_ready(self, timeout: float = 300) -> None:
        """Poll `ready_path` until it answers 200; fail early if the server exits."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=5) as client:
            while True:
                if self.proc.poll() is not None:
                    raise ProcessError(
                        f"{self.name} exited with {self.proc.returncode} before answering; "
                        f"{self.log}:\n{tail(self.log)}"
                    )
                try:
                    answered = client.get(self.base_url + self.ready_path).status_code == 200
                except httpx.TransportError:
                    answered = False
                started = self.log.read_text(errors="replace").count(STARTED)
                if answered and started >= self.workers_expected:
                    break
                if time.monotonic() > deadline:
                    raise ProcessError(f"{self.name} did not answer within {timeout} s")
                time.sleep(0.2)
        self.seen.update(self.processes())

    def processes(self) -> list[int]:
        assert self.proc is not None
        return group_members(self.proc.pid)

    def workers(self) -> list[int]:
        """The processes that serve requests: the spawned workers under a uvicorn supervisor
        (`--workers` > 1), else the process itself."""
        assert self.proc is not None
        spawned = [pid for pid in children(self.proc.pid) if "spawn_main" in cmdline(pid)]
        return spawned or [self.proc.pid]

    def stop(self, grace: float = 20) -> None:
        """SIGTERM the whole group, then SIGKILL whatever is left after `grace` seconds."""
        if self.proc is None:
            return
        self.seen.update(self.processes())
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (
            self.proc.poll() is None or any(alive(pid) for pid in self.seen)
        ):
            time.sleep(0.1)
        if self.proc.poll() is None or any(alive(pid) for pid in self.seen):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def settle(
    busy_below: float = 0.15, window: float = 0.5, calm: int = 2, timeout: float = 120
) -> float:
    """Wait until the machine is idle (under `busy_below` of its CPU for `calm` windows in a
    row), and return the seconds waited.

    After a run, a server can go on working for minutes on the requests wrk left in flight
    (at a million publications, 32 common-word searches); the next run would measure that
    backlog instead of its own requests, on the server and on any other sharing the machine,
    PostgreSQL included.
    """
    started = time.monotonic()
    quiet = 0
    busy, total = _cpu_times()
    while quiet < calm and time.monotonic() - started < timeout:
        time.sleep(window)
        now_busy, now_total = _cpu_times()
        share = (now_busy - busy) / max(now_total - total, 1)
        busy, total = now_busy, now_total
        quiet = quiet + 1 if share < busy_below else 0
    return time.monotonic() - started
