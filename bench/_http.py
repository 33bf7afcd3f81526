"""What the HTTP benchmarks share: a gunicorn server on loopback and timed, logged-in clients.

``Server`` starts the production server the way an operator would —
``gunicorn 'reliefsvc:create_app()'`` with several workers (gthread) — against a given
database URL and instance folder, waits until ``/login`` answers, and stops it again. It
also lists its worker processes, for the fault runs that kill one.

``Client`` is one person at a browser: a ``requests`` session that logs in through the
login form (CSRF token and all) and times each request into a shared ``Stats`` under a
*kind* ("submit", "officer:records", ...). ``Stats`` gives p50/p95/p99, requests per
second, and the 4xx/5xx/transport-error counts per kind.

Clients are threads: the server runs in other processes, and a thread spends nearly all
its time waiting for the answer, so one client process drives 50 of them.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests
import urllib3

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

#: Cheap Argon2 for the bench instances (as the e2e server does): 50 logins at once would
#: otherwise spend seconds of both cores on hashing before the measured window.
#: The bench logs officers in without the second factor (issue 15 requires it of officers):
#: it costs one request at login, none per page, and the clients would need a TOTP each.
INSTANCE_CONFIG = ('ARGON2_PARAMETERS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}\n'
                   "TOTP_REQUIRED_ROLES = ()\n")
#: Variables of the calling shell that would point the server elsewhere.
DROPPED_VARIABLES = ("DATABASE_URL", "TEST_DATABASE_URL", "RELIEFSVC_ENV", "FLASK_APP", "FLASK_DEBUG")

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_VARIABLES}
    env["RELIEFSVC_INSTANCE_PATH"] = str(instance)
    env["DATABASE_URL"] = database_url
    env["PYTHONUNBUFFERED"] = "1"
    return env


def prepare_instance(instance: Path, extra: str = "") -> None:
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "config.py").write_text(INSTANCE_CONFIG + extra, encoding="utf-8")


def cli(database_url: str, instance: Path, *args: str, quiet: bool = True) -> str:
    """Run ``reliefsvc ARGS`` against the instance; fail loudly with its output."""
    done = subprocess.run([str(VENV_BIN / "reliefsvc"), *args], env=server_env(database_url, instance),
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"reliefsvc {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    if not quiet:
        print(done.stdout, end="")
    return done.stdout


class Server:
    """``gunicorn -c python:reliefsvc.gunicorn_conf 'reliefsvc:create_app()'`` (as docs/operations.md
    runs it) on 127.0.0.1 with ``workers`` × ``threads``."""

    def __init__(self, database_url: str, instance: Path, workers: int = 4, threads: int = 4,
                 timeout: int = 60, extra_config: str = ""):
        self.database_url, self.instance, self.extra_config = database_url, instance, extra_config
        self.workers, self.threads, self.timeout = workers, threads, timeout
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = instance / "gunicorn.log"

    def command(self) -> list[str]:
        return [str(VENV_BIN / "gunicorn"), "-c", "python:reliefsvc.gunicorn_conf",
                "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                "--worker-class", "gthread", "--threads", str(self.threads), "--timeout", str(int(self.timeout)),
                "--graceful-timeout", "10", "--access-logfile", "-", "--access-logformat",
                '%(m)s %(U)s %(s)s %(M)sms', "reliefsvc:create_app()"]

    def start(self, ready_within: float = 90) -> Server:
        prepare_instance(self.instance, self.extra_config)  # the bench settings, also in instances cached before them
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.command(), env=server_env(self.database_url, self.instance),
                                        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}:\n"
                                   + self.log_path.read_text(errors="replace")[-3000:])
            if self._answers() and len(self.worker_pids()) >= self.workers:
                return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {ready_within:.0f} s; see {self.log_path}")

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", "/login")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def worker_pids(self) -> list[int]:
        """The master's children: gunicorn's workers (the master re-forks a killed one)."""
        if self.process is None:
            return []
        try:
            text = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def kill_one_worker(self) -> int:
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # gunicorn: graceful stop of the workers
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- measuring -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of ``values`` (seconds in, seconds out); 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class KindStats:
    times: list[float] = field(default_factory=list)
    status: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    transport_errors: int = 0

    @property
    def count(self) -> int:
        return len(self.times)

    def n_class(self, hundred: int) -> int:
        return sum(n for code, n in self.status.items() if code // 100 == hundred)


class Stats:
    """Latencies and outcomes per kind of request, safe to fill from many threads."""

    def __init__(self):
        self.kinds: dict[str, KindStats] = defaultdict(KindStats)
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.stopped: float | None = None

    def add(self, kind: str, seconds: float, status: int | None) -> None:
        with self.lock:
            k = self.kinds[kind]
            if status is None:
                k.transport_errors += 1
            else:
                k.times.append(seconds)
                k.status[status] += 1

    def stop(self) -> None:
        self.stopped = time.monotonic()

    @property
    def seconds(self) -> float:
        return (self.stopped or time.monotonic()) - self.started

    def total(self, hundred: int | None = None) -> int:
        if hundred is None:
            return sum(k.count for k in self.kinds.values())
        return sum(k.n_class(hundred) for k in self.kinds.values())

    def transport_errors(self) -> int:
        return sum(k.transport_errors for k in self.kinds.values())

    def table(self) -> str:
        lines = [f"{'kind':<22}{'n':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'4xx':>6}{'5xx':>6}"
                 f"{'conn':>6}"]
        for name in sorted(self.kinds):
            k = self.kinds[name]
            lines.append(f"{name:<22}{k.count:>7}{k.count / self.seconds:>8.1f}{percentile(k.times, 50) * 1000:>9.0f}"
                         f"{percentile(k.times, 95) * 1000:>9.0f}{percentile(k.times, 99) * 1000:>9.0f}"
                         f"{k.n_class(4):>6}{k.n_class(5):>6}{k.transport_errors:>6}")
        return "\n".join(lines)


class LoginFailed(RuntimeError):
    """A simulated user could not log in: the run cannot measure what it was asked to."""


class Client:
    """One logged-in person; every request is timed into ``stats`` under its kind."""

    def __init__(self, base: str, stats: Stats, timeout: float = 30):
        self.base, self.stats, self.timeout = base, stats, timeout
        self.session = requests.Session()
        self.csrf: str | None = None

    def request(self, kind: str, method: str, path: str, **kwargs) -> requests.Response | None:
        """The response (any status), or None when the connection failed or timed out."""
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        t = time.perf_counter()
        try:
            # The body read in one call (and kept as the response's content): requests reads it
            # in 10 KiB pieces, and with sixteen client threads each piece waited for the
            # client's own GIL, so a large page was timed slower than it was served.
            response = self.session.request(method, self.base + path, stream=True, **kwargs)
            response._content = response.raw.read(decode_content=True)
            response._content_consumed = True
            response.close()
        except (requests.RequestException, urllib3.exceptions.HTTPError):
            self.stats.add(kind, time.perf_counter() - t, None)
            return None
        self.stats.add(kind, time.perf_counter() - t, response.status_code)
        return response

    @staticmethod
    def csrf_of(html: str) -> str:
        match = _CSRF.search(html)
        if match is None:
            raise LoginFailed("no csrf_token in the page")
        return match.group(1) or match.group(2)

    def login(self, username: str, password: str, attempts: int = 5) -> None:
        for attempt in range(attempts):
            page = self.request("login", "GET", "/login")
            if page is None or page.status_code != 200:
                time.sleep(0.5 * (attempt + 1))
                continue
            token = self.csrf_of(page.text)
            done = self.request("login", "POST", "/login",
                                data={"csrf_token": token, "username": username, "password": password})
            if done is None or done.status_code >= 500:
                time.sleep(0.5 * (attempt + 1))
                continue
            location = done.headers.get("Location", "")
            if done.status_code != 302 or "/login" in location:
                raise LoginFailed(f"{username}: login answered {done.status_code} {location!r} "
                                  "(a second factor or a password rule the bench does not know?)")
            self.csrf = token
            home = self.request("login", "GET", "/")
            if home is None or home.status_code >= 500:  # a fault in the middle: log in again
                self.session.cookies.clear()
                time.sleep(0.5 * (attempt + 1))
                continue
            if home.status_code != 200:
                raise LoginFailed(f"{username}: the home page after login answered "
                                  f"{None if home is None else home.status_code} "
                                  f"{'' if home is None else home.headers.get('Location', '')!r}")
            return
        raise LoginFailed(f"{username}: no answer to the login form after {attempts} attempts")


def run_threads(targets: list, stop_at: float) -> None:
    """Run each callable(stop_at) in its own thread and wait for all of them."""
    threads = [threading.Thread(target=t, args=(stop_at,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def pg_url(database: str, port: int = 5432) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def psql(sql: str, port: int = 5432, database: str = "postgres", check: bool = True) -> str:
    done = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database,
                           "-v", "ON_ERROR_STOP=1", "-Atc", sql], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr}")
    return done.stdout.strip()


def copy_instance(source: Path, target: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(target)
    shutil.copytree(source, target)
