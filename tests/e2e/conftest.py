"""End-to-end harness: a real fleetres-server process on loopback.

Each test module gets its own server on a free port with a fresh SQLite file
(SPEC §9: DATABASE_URL); `api` talks plain HTTP to it with the standard
library only.  FLEETRES_SERVER names the binary (meson sets it).

With FLEETRES_E2E_DATABASE=postgres and FLEETRES_E2E_PG_URL (a base URL
without a database name, e.g. postgres://postgres@127.0.0.1:5433) every
Server gets a fresh PostgreSQL database instead of its SQLite file: the same
suite then runs unchanged against PostgreSQL (meson test e2e_postgres).

With FLEETRES_E2E_REDIS=1 every server also gets REDIS_ADDR (the meson test
`e2e_redis`): FLEETRES_E2E_REDIS_ADDR when the caller started one (make test
does, with tests/services/redis.sh), else a redis-server of this session.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest

BASE = "/api/v1/fleet-resources"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PG_MODE = os.environ.get("FLEETRES_E2E_DATABASE") == "postgres"
PG_BASE_URL = os.environ.get("FLEETRES_E2E_PG_URL", "").rstrip("/")


def pytest_sessionstart(session):
    if PG_MODE and not PG_BASE_URL:
        if os.environ.get("FLEETRES_REQUIRE_PG") == "1":
            pytest.exit("FLEETRES_REQUIRE_PG=1 but FLEETRES_E2E_PG_URL is not set", returncode=1)
        pytest.exit("no PostgreSQL (FLEETRES_E2E_PG_URL unset): skipped", returncode=77)


def psql(database, sql, check=True):
    """Runs sql with psql on database of the test cluster; returns stdout."""
    done = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1",
                           "%s/%s" % (PG_BASE_URL, database), "-c", sql],
                          capture_output=True, timeout=60, check=False)
    if check and done.returncode != 0:
        raise RuntimeError("psql failed: %s" % done.stderr.decode("utf-8", "replace"))
    return done.stdout.decode("utf-8")


def fresh_pg_database():
    """CREATE DATABASE with a unique name; returns (name, url)."""
    assert PG_BASE_URL, "FLEETRES_E2E_DATABASE=postgres needs FLEETRES_E2E_PG_URL"
    name = "fr_e2e_%d_%d_%d" % (os.getpid(), int(time.time() * 1000) % 10**8, next_db_number())
    psql("postgres", "CREATE DATABASE %s" % name)
    return name, "%s/%s" % (PG_BASE_URL, name)


_db_counter = [0]


def next_db_number():
    _db_counter[0] += 1
    return _db_counter[0]


class Server:
    """A running fleetres-server; restartable (kill -9 and start again)."""

    def __init__(self, db_path, env=None):
        self.db_path = db_path
        self.database_url = db_path
        if PG_MODE and not db_path.startswith("postgres"):
            self.pg_database, self.database_url = fresh_pg_database()
        self.port = free_port()
        self.extra_env = env or {}
        self.proc = None
        if db_path.startswith("postgres"):
            # Another instance on a database by URL: its log goes to a
            # directory of its own, removed with the object.
            self.log_dir = tempfile.TemporaryDirectory()
            log_path = os.path.join(self.log_dir.name, "fleetres.log")
        else:
            log_path = db_path + ".log"
        self.log = open(log_path, "ab")

    def start(self):
        env = dict(os.environ)
        env.update({"PORT": str(self.port), "DATABASE_URL": self.database_url,
                    "LOG_LEVEL": "warn"})
        if os.environ.get("FLEETRES_E2E_REDIS") == "1":
            env["REDIS_ADDR"] = os.environ["FLEETRES_E2E_REDIS_ADDR"]
        else:
            env.pop("REDIS_ADDR", None)
        env.update(self.extra_env)
        binary = os.environ.get("FLEETRES_SERVER", "build/service/fleetres-server")
        self.proc = subprocess.Popen([binary], env=env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("fleetres-server exited with %s" % self.proc.returncode)
            try:
                status, _, _ = self.request("GET", "/health")
                if status in (200, 503):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("fleetres-server did not come up")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else 0
        return rc

    def request(self, method, path, body=None, headers=None, raw=None):
        """Returns (status, headers dict lower-cased, parsed JSON or text or None)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        hdrs = dict(headers or {})
        data = raw
        if body is not None and raw is None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        out_headers = {k.lower(): v for k, v in resp.getheaders()}
        conn.close()
        parsed = None
        if payload:
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = payload.decode("utf-8", "replace")
        return resp.status, out_headers, parsed

    def api(self, method, path, body=None, headers=None, raw=None):
        return self.request(method, BASE + path, body, headers, raw)


@pytest.fixture(scope="session", autouse=True)
def session_redis():
    """The Redis of an `e2e_redis` run (see the module docstring)."""
    if os.environ.get("FLEETRES_E2E_REDIS") != "1" or os.environ.get("FLEETRES_E2E_REDIS_ADDR"):
        yield None
        return
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "services",
                          "redis.sh")
    with tempfile.TemporaryDirectory() as d:
        port = str(free_port())
        out = subprocess.run([script, "start", port, d], check=True, capture_output=True,
                             text=True)
        os.environ["FLEETRES_E2E_REDIS_ADDR"] = out.stdout.strip()
        try:
            yield os.environ["FLEETRES_E2E_REDIS_ADDR"]
        finally:
            subprocess.run([script, "stop", port, d], check=False)
            del os.environ["FLEETRES_E2E_REDIS_ADDR"]


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory() as d:
        s = Server(os.path.join(d, "fleetres.db")).start()
        yield s
        assert s.stop() == 0, "server did not exit cleanly on SIGTERM"


@pytest.fixture
def fresh_server():
    """A server of its own, for tests that restart or kill it."""
    with tempfile.TemporaryDirectory() as d:
        s = Server(os.path.join(d, "fleetres.db"))
        yield s
        if s.proc and s.proc.poll() is None:
            s.stop()


_counter = [0]


def unique(prefix):
    _counter[0] += 1
    return "%s-%d-%d" % (prefix, os.getpid(), _counter[0])


def iso(ms):
    """RFC 3339 with milliseconds, UTC."""
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03dZ" % (ms % 1000)


def now_ms():
    return int(time.time() * 1000)
