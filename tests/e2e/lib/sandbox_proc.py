"""Start and stop an ecsh-sandbox for an end-to-end test, and run the real AWS CLI against it.

Only the process started here is ever signalled, by its PID. Every wait is bounded.
"""
import json
import os
import select
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

ADMIN_KEY = "AKIAECSHSANDBOXADMIN"
ADMIN_SECRET = "ecsh-sandbox-secret"
AWS_CLI = "/usr/bin/aws"  # the Debian AWS CLI v2, not whatever `aws` is first on PATH


class Sandbox:
    """tls=True: `--tls`, the sandbox makes its CA (self.ca, read from its second stdout line).
    tls_cert/tls_key: serve these files; `ca` is then the CA the tests trust for them."""

    def __init__(self, binary, scenario=None, args=(), state_dir=None, tls=False, tls_cert=None,
                 tls_key=None, ca=None):
        self.binary = binary
        self.scenario = scenario
        self.args = list(args)
        self.own_dir = state_dir is None
        self.dir = state_dir or tempfile.mkdtemp(prefix="ecsh-sandbox-test-")
        self.proc = None
        self.ended_by_us = False
        self.url = None
        self.tls = tls
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.ca = ca

    @property
    def port(self):
        return int(self.url.rsplit(":", 1)[1])

    def url_for(self, host):
        """The sandbox's URL with another host name for 127.0.0.1 (e.g. localhost, for SNI)."""
        return self.url.split("://")[0] + "://" + host + ":" + str(self.port)

    def ssl_context(self):
        """A client context that trusts the sandbox's CA (None for plain HTTP)."""
        if not self.url or not self.url.startswith("https://"):
            return None
        ctx = ssl.create_default_context(cafile=self.ca) if self.ca else \
            ssl._create_unverified_context()
        return ctx

    def start(self, timeout=20):
        # A second start would leave the first sandbox running, unseen by cleanup().
        if getattr(self, "proc", None) is not None and self.proc.poll() is None:
            raise AssertionError("this sandbox is already started (a `with` block starts it)")
        cmd = [self.binary, "--listen", "127.0.0.1:0", "--state-dir",
               os.path.join(self.dir, "state")] + self.args
        if self.tls:
            cmd.append("--tls")
        if self.tls_cert:
            cmd += ["--tls-cert", self.tls_cert, "--tls-key", self.tls_key]
        if self.scenario:
            path = os.path.join(self.dir, "scenario.json")
            with open(path, "w") as f:
                json.dump(self.scenario, f)
            cmd += ["--scenario", path]
        self.stderr = open(os.path.join(self.dir, "sandbox.stderr"), "w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True)
        self.ended_by_us = False
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.kill()
            raise RuntimeError("ecsh-sandbox printed nothing within %ss" % timeout)
        line = self.proc.stdout.readline().strip()
        prefix = "listening on "
        if not line.startswith(prefix):
            self.kill()
            raise RuntimeError("unexpected first line from ecsh-sandbox: %r (stderr: %s)"
                               % (line, self.stderr_text()))
        self.url = line[len(prefix):]
        if self.tls:
            # Printed and flushed with the first line (likely in this file's buffer already).
            line = self.proc.stdout.readline().strip()
            if not line.startswith("ca bundle "):
                self.kill()
                raise RuntimeError("ecsh-sandbox --tls: no CA path on its second line: %r" % line)
            self.ca = line[len("ca bundle "):]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/_sandbox/health", timeout=2,
                                            context=self.ssl_context()) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError("ecsh-sandbox never became healthy")

    def stderr_text(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()

    def stop(self, timeout=20):
        """SIGTERM, then wait; returns the exit code (SIGKILL after the timeout)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.ended_by_us = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.ended_by_us = True
            self.proc.kill()
            self.proc.wait(timeout=10)

    def admin(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data,
                                     method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=10, context=self.ssl_context()) as r:
            return json.loads(r.read() or b"null")

    def cleanup(self):
        self.kill()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.report_unexpected_end()
        self.cleanup()

    def report_unexpected_end(self):
        """A sandbox that ended by itself (a crash, a sanitizer's report) says so, with the end of
        its stderr: the test's own failure is then only a consequence."""
        if self.proc is None or self.ended_by_us or self.proc.poll() is None:
            return
        tail = self.stderr_text()[-6000:]
        sys.stderr.write("ecsh-sandbox ended by itself (exit code %s); the end of its stderr:\n%s\n"
                         % (self.proc.returncode, tail))


def aws_env(key=ADMIN_KEY, secret=ADMIN_SECRET, token=None, region="us-east-1", home=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                                                     "https_proxy")}
    env.update({
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_PAGER": "",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
    })
    if token:
        env["AWS_SESSION_TOKEN"] = token
    if home:
        env["HOME"] = home
    return env


def run_ecsh(binary, sandbox, *args, env=None, timeout=120):
    """`binary --endpoint-url SANDBOX args…` with the admin's credentials (or `env`), no stdin;
    the CompletedProcess, text."""
    env = dict(env or aws_env(), NO_PROXY="127.0.0.1")
    return subprocess.run([binary, "--endpoint-url", sandbox.url, *args], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def aws(sandbox, *args, env=None, timeout=60):
    """Runs the real AWS CLI against the sandbox; returns (exit code, parsed JSON or None, stderr)."""
    cmd = [AWS_CLI, "--endpoint-url", sandbox.url, "--output", "json"] + list(args)
    if sandbox.url.startswith("https://") and sandbox.ca and "--ca-bundle" not in args:
        cmd[3:3] = ["--ca-bundle", sandbox.ca]
    p = subprocess.run(cmd, env=env or aws_env(), stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    out = None
    if p.stdout.strip():
        try:
            out = json.loads(p.stdout)
        except ValueError:
            out = p.stdout
    return p.returncode, out, p.stderr


def wait_for_exec_ready(sandbox, cluster, timeout=60):
    """A RUNNING task of the cluster whose every exec agent is RUNNING (bounded wait)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        rc, out, _ = aws(sandbox, "ecs", "list-tasks", "--cluster", cluster)
        if rc == 0 and out["taskArns"]:
            rc, d, _ = aws(sandbox, "ecs", "describe-tasks", "--cluster", cluster, "--tasks",
                           *out["taskArns"])
            for t in d.get("tasks", []):
                agents = [a for c in t["containers"] for a in c.get("managedAgents", [])]
                if t["lastStatus"] == "RUNNING" and agents and all(
                        a["lastStatus"] == "RUNNING" for a in agents):
                    return t
        time.sleep(0.2)
    raise AssertionError(f"no exec-ready task in cluster {cluster}")
