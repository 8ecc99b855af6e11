#!/usr/bin/env python3
"""`ecsh forward` against the sandbox (process runtime): HTTP through -L to a container port and
to a remote host through the task; a unix-socket listener; a refused port reported while the
session goes on serving; 100 concurrent connections moving 1 MiB each way; a 256 MiB download
and upload through one connection across three dropped links; Ctrl-C (exit 0) and a stopped task
(exit 249) with their messages; the idle timeout with and without keep-alives (exit 247); the
service's forced reconnects under an 8 MiB transfer each way; and the real AWS CLI's `ssm
start-session` with ecsh as its session-manager-plugin, to a container port and to a remote
host."""
import argparse
import concurrent.futures
import hashlib
import http.server
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import Checks, wait  # noqa: E402
from sandbox_proc import Sandbox, AWS_CLI, aws, aws_env, wait_for_exec_ready  # noqa: E402

check = Checks()
# dev.sh test-sanitized runs the suite with ASAN_OPTIONS set: smaller transfers there.
SANITIZED = "ASAN_OPTIONS" in os.environ
SSM_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
               "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
TGT = ["-c", "e2e", "-s", "fwd", "-n", "app"]
WEB_BODY = "hello from the task's web container\n"
REMOTE_BODY = b"hello from db.internal, outside the task\n"


def scenario():
    role = {"name": "fwd-task-role", "policies": [{"name": "exec", "document": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": SSM_ACTIONS, "Resource": "*"}]}}]}
    server = os.path.join(HERE, "forward_server.py")
    task_def = {"family": "fwd", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                "cpu": "256", "memory": "512",
                "taskRoleArn": "arn:aws:iam::000000000000:role/fwd-task-role",
                "containerDefinitions": [
                    {"name": "app", "image": "app:1", "essential": True,
                     "command": ["python3", "-u", server, "9000"]},
                    {"name": "web", "image": "web:1", "essential": True,
                     "command": ["sandbox-httpd", "--port", "8080", "--body", WEB_BODY]}]}
    return {"roles": [role], "clusters": [{"name": "e2e", "capacity": {"fargate": True}}],
            "task_definitions": [task_def],
            "services": [{"cluster": "e2e", "name": "fwd", "task_definition": "fwd",
                          "desired_count": 1, "launch_type": "FARGATE",
                          "platform_version": "1.4.0", "enable_execute_command": True}]}


class RemoteHost:
    """An HTTP server on the host's loopback: db.internal for the sandbox's VPC."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(REMOTE_BODY)))
                self.end_headers()
                self.wfile.write(REMOTE_BODY)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Forward:
    """A running `ecsh forward` (its own process group, so that SIGINT reaches only it)."""

    def __init__(self, ecsh, sandbox, args, env=None, debug=False, work=None):
        self.err_path = os.path.join(work, f"forward-{time.monotonic_ns()}.stderr")
        self.err = open(self.err_path, "w+")
        cmd = [ecsh, "--endpoint-url", sandbox.url] + (["--debug"] if debug else []) + \
            ["forward"] + list(args)
        self.proc = subprocess.Popen(cmd, env=env or ecsh_env(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.err,
                                     start_new_session=True)
        self.lines = []
        self.pending = b""

    def read_lines(self, count, timeout=30):
        """Reads stdout (unbuffered: select() only sees what the pipe holds) until `count`
        lines have come, or `timeout` seconds."""
        end = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while len(self.lines) < count and time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.pending += chunk
            while b"\n" in self.pending:
                line, self.pending = self.pending.split(b"\n", 1)
                self.lines.append(line.decode())
        return self.lines

    def address(self, destination):
        for line in self.lines:
            m = re.match(r"forwarding (\S+) -> (\S+) via ", line)
            if m and m.group(2) == destination:
                host, port = m.group(1).rsplit(":", 1)
                return host, int(port)
        return None

    def stderr(self):
        self.err.flush()
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def interrupt(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)

    def wait(self, timeout=30):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def ecsh_env():
    env = aws_env()
    env["NO_PROXY"] = "127.0.0.1"
    return env


def http_get(addr, path="/", timeout=20):
    with socket.create_connection(addr, timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        return read_all(s)


def read_all(s):
    data = b""
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            return data
        data += chunk


def body_of(response):
    return response.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in response else b""


def echo_1mib(addr, seed):
    payload = random.Random(seed).randbytes(1 << 20)
    with socket.create_connection(addr, timeout=120) as s:
        s.sendall(b"ECHO\n")
        got = bytearray()
        sent = 0
        s.setblocking(True)
        # Write and read in turns so that neither side's buffers fill.
        while len(got) < len(payload):
            if sent < len(payload):
                sent += s.send(payload[sent:sent + (64 << 10)])
            s.settimeout(0.01 if sent < len(payload) else 120)
            try:
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                got += chunk
            except socket.timeout:
                pass
    return hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest()


def download(addr, size, seed):
    rng = random.Random(seed)
    expected = hashlib.sha256()
    left = size
    while left > 0:
        k = min(left, 1 << 20)
        expected.update(rng.randbytes(k))
        left -= k
    got = hashlib.sha256()
    n = 0
    with socket.create_connection(addr, timeout=300) as s:
        s.sendall(f"DOWN {size} {seed}\n".encode())
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got.update(chunk)
            n += len(chunk)
    return n == size and got.hexdigest() == expected.hexdigest(), n


def upload(addr, size, seed):
    rng = random.Random(seed)
    expected = hashlib.sha256()
    with socket.create_connection(addr, timeout=300) as s:
        s.sendall(f"UP {size}\n".encode())
        left = size
        while left > 0:
            block = rng.randbytes(min(left, 1 << 20))
            expected.update(block)
            s.sendall(block)
            left -= len(block)
        answer = read_all(s).decode().strip()
    return answer == expected.hexdigest(), answer


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    ecsh = os.path.abspath(opts.ecsh)
    work = tempfile.mkdtemp(prefix="ecsh-forward-e2e-")
    remote = RemoteHost()
    sb = Sandbox(opts.sandbox, scenario=scenario(),
                 args=["--agent-pacing", "none", "--vpc-host", "db.internal=127.0.0.1"]).start()
    forwards = []
    try:
        task = wait_for_exec_ready(sb, "e2e")
        task_id = task["taskArn"].rsplit("/", 1)[1]
        sock_path = os.path.join(work, "web.sock")

        fw = Forward(ecsh, sb, [*TGT, "-L", "0:8080", "-L", "0.0.0.0:0:8080", "-L", "0:9000",
                                "-L", f"0:db.internal:{remote.port}", "-L", "0:9001",
                                "-L", f"{sock_path}:8080"], debug=True, work=work)
        forwards.append(fw)
        lines = fw.read_lines(6)
        check(len(lines) == 6 and all(re.match(r"forwarding \S+ -> \S+ via task "
                                               + task_id[:12] + "…/app$", ln) for ln in lines),
              "one line per listener: forwarding ADDRESS -> DESTINATION via task …/app",
              (lines, fw.stderr()[-800:]))
        check("0.0.0.0:" in fw.stderr() and "accepts connections from other machines"
              in fw.stderr(), "a listener beyond loopback is warned about", fw.stderr()[-500:])
        web = fw.address("localhost:8080")
        check(web is not None and web[0] == "127.0.0.1", "listeners bind loopback by default",
              lines)
        r = http_get(web)
        check(body_of(r).decode(errors="replace") == WEB_BODY,
              "HTTP through -L to a container port", r[:300])
        outside = [ln for ln in lines if ln.startswith("forwarding 0.0.0.0:")]
        port_outside = int(outside[0].split()[1].rsplit(":", 1)[1]) if outside else 0
        r = http_get(("127.0.0.1", port_outside))
        check(body_of(r).decode(errors="replace") == WEB_BODY,
              "two listeners to one destination share its session (both serve)", r[:300])
        r = http_get(fw.address(f"db.internal:{remote.port}"))
        check(body_of(r) == REMOTE_BODY, "HTTP through -L to a remote host, dialed from the task",
              r[:300])
        with socket.socket(socket.AF_UNIX) as us:
            us.settimeout(20)
            us.connect(sock_path)
            us.sendall(b"GET / HTTP/1.0\r\n\r\n")
            r = read_all(us)
        check(body_of(r).decode(errors="replace") == WEB_BODY, "a unix-socket listener forwards",
              r[:300])

        # A port nobody listens on in the task: only that connection is closed.
        with socket.create_connection(fw.address("localhost:9001"), timeout=20) as s:
            s.sendall(b"hello?\n")
            got = read_all(s)
        check(got == b"", "a refused destination closes the local connection", got[:100])
        try:
            wait(lambda: "connection refused by localhost:9001 inside the task" in fw.stderr(),
                 "the refused-connection message", timeout=10)
        except AssertionError:
            pass
        check("connection refused by localhost:9001 inside the task" in fw.stderr(),
              "the refused connection is reported", fw.stderr()[-600:])
        r = http_get(web)
        check(body_of(r).decode(errors="replace") == WEB_BODY and fw.proc.poll() is None,
              "the forward goes on serving after a refused connection", r[:200])

        # 100 connections at once, 1 MiB each way, checked by SHA-256.
        app = fw.address("localhost:9000")
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
            results = list(pool.map(lambda i: echo_1mib(app, i), range(100)))
        check(all(results), f"100 concurrent connections each echo 1 MiB intact "
              f"({time.monotonic() - start:.1f} s)", results.count(False))

        # 256 MiB down and up through one connection while the link drops three times (32 MiB
        # under the sanitizers, which make every byte ten times dearer; drops come sooner).
        big = (32 if SANITIZED else 256) << 20
        sb.admin("/_sandbox/faults", {"data_channel": {
            "drop_link_every_frames": 2500 if SANITIZED else 20000, "max_link_drops": 3}})
        start = time.monotonic()
        ok_down, n = download(app, big, 7)
        down_s = time.monotonic() - start
        start = time.monotonic()
        ok_up, answer = upload(app, big, 8)
        up_s = time.monotonic() - start
        sb.admin("/_sandbox/faults", {"data_channel": {}})
        drops = fw.stderr().count("session: link lost")
        check(ok_down, f"{big >> 20} MiB download intact ({down_s:.1f} s)", n)
        check(ok_up, f"{big >> 20} MiB upload intact ({up_s:.1f} s)", answer)
        check(drops >= 3, f"... across dropped links ({drops} resumed)", fw.stderr()[-500:])

        # Ctrl-C: the session ends cleanly, exit 130 (128 + SIGINT), the listeners are gone.
        fw.interrupt()
        rc = fw.wait(20)
        check(rc == 130 and "forward ended" in fw.stderr(), "Ctrl-C ends the forward with exit 130",
              (rc, fw.stderr()[-300:]))
        try:
            socket.create_connection(web, timeout=2).close()
            closed = False
        except OSError:
            closed = True
        check(closed and not os.path.exists(sock_path),
              "after Ctrl-C nothing listens (and the unix socket file is removed)", web)
        rc, sessions, _ = aws(sb, "ssm", "describe-sessions", "--state", "Active")
        active = [s for s in (sessions or {}).get("Sessions", []) if s.get("DocumentName", "")
                  .startswith("AWS-StartPortForwarding")]
        check(rc == 0 and not active, "the sessions are terminated for the service", active)

        # ecsh as the AWS CLI's session-manager-plugin.
        bindir = os.path.join(work, "bin")
        os.makedirs(bindir)
        os.symlink(ecsh, os.path.join(bindir, "session-manager-plugin"))
        env = ecsh_env()
        env["PATH"] = bindir + ":" + env.get("PATH", "/usr/bin:/bin")
        runtime_id = next(c["runtimeId"] for c in task["containers"] if c["name"] == "app")
        ssm_target = f"ecs:e2e_{task_id}_{runtime_id}"
        for document, params, expected in (
                ("AWS-StartPortForwardingSession", "portNumber=8080", WEB_BODY.encode()),
                ("AWS-StartPortForwardingSessionToRemoteHost",
                 f"host=db.internal,portNumber={remote.port}", REMOTE_BODY)):
            local = free_port()
            out_path = os.path.join(work, document + ".out")
            with open(out_path, "w+") as out:
                proc = subprocess.Popen(
                    [AWS_CLI, "--endpoint-url", sb.url, "ssm", "start-session", "--target",
                     ssm_target, "--document-name", document, "--parameters",
                     params + f",localPortNumber={local}"],
                    env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True)
                try:
                    def text():
                        out.flush()
                        with open(out_path, errors="replace") as f:
                            return f.read()
                    wait(lambda: "Waiting for connections..." in text() or proc.poll() is not None,
                         "the plugin's listener", timeout=60)
                    r = http_get(("127.0.0.1", local))
                    check(f"Port {local} opened for sessionId" in text() and body_of(r) == expected,
                          f"aws ssm start-session {document} with ecsh as the plugin forwards HTTP",
                          (text()[-500:], r[:200]))
                    os.killpg(proc.pid, signal.SIGINT)
                    proc.wait(timeout=30)
                    check("Exiting session with sessionId" in text(),
                          f"... and Ctrl-C ends it as the plugin does ({document})", text()[-300:])
                finally:
                    if proc.poll() is None:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait(timeout=10)

        # AWS-StartSSHSession (ssh's ProxyCommand): stdin and stdout are the connection.
        p = subprocess.run(
            ["sh", "-c", "{ printf 'ECHO\\nthrough stdin and stdout\\n'; sleep 2; } | \"$@\"",
             "sh", AWS_CLI, "--endpoint-url", sb.url, "ssm", "start-session", "--target",
             ssm_target, "--document-name", "AWS-StartSSHSession", "--parameters",
             "portNumber=9000"], env=env, stdin=subprocess.DEVNULL, capture_output=True,
            timeout=60)
        check(p.returncode == 0 and p.stdout == b"through stdin and stdout\n",
              "AWS-StartSSHSession with ecsh as the plugin: stdin/stdout are the connection, "
              "nothing else on stdout, and the end of stdin ends it",
              (p.returncode, p.stdout[:200], p.stderr[-300:]))

        # The task stops: exit 249 and the message says so.
        fw2 = Forward(ecsh, sb, [*TGT, "-L", "0:8080"], work=work)
        forwards.append(fw2)
        fw2.read_lines(1)
        check(body_of(http_get(fw2.address("localhost:8080"))).decode() == WEB_BODY,
              "a second forward serves", fw2.stderr()[-300:])
        rc, _, err = aws(sb, "ecs", "stop-task", "--cluster", "e2e", "--task", task["taskArn"])
        rc2 = fw2.wait(60)
        check(rc2 == 249 and f"task {task_id} stopped" in fw2.stderr(),
              "a stopped task ends the forward with exit 249 and says why",
              (rc, rc2, fw2.stderr()[-500:]))
        idle_timeout(ecsh, opts.sandbox, work, forwards)
        forced_reconnects(ecsh, opts.sandbox, work, forwards)
    finally:
        for f in forwards:
            f.kill()
        sb.cleanup()
        remote.stop()
    return check.exit_code()


def idle_timeout(ecsh, sandbox_bin, work, forwards):
    """Session Manager ends sessions without input (20 min by default; 3 s here): an open but
    quiet connection keeps its session through keep-alives, and without them it is ended."""
    sb = Sandbox(sandbox_bin, scenario(),
                 args=["--agent-pacing", "none", "--session-idle-timeout", "3"]).start()
    try:
        wait_for_exec_ready(sb, "e2e")
        for keepalive, survives in (("1", True), ("0", False)):
            fw = Forward(ecsh, sb, [*TGT, "-L", "0:9000", "--keepalive", keepalive], work=work)
            forwards.append(fw)
            fw.read_lines(1)
            with socket.create_connection(fw.address("localhost:9000"), timeout=20) as s:
                s.sendall(b"ECHO\n")
                time.sleep(6)
                try:
                    s.sendall(b"still there?")
                    s.settimeout(5)
                    got = s.recv(100)
                except OSError as e:
                    got = repr(e).encode()
            if survives:
                check(got == b"still there?" and fw.proc.poll() is None,
                      "keep-alives carry a quiet connection past the service's idle timeout",
                      (got, fw.stderr()[-300:]))
            else:
                rc = fw.wait(20)
                check(rc == 247 and "without input (idle timeout)" in fw.stderr()
                      and "--keepalive" in fw.stderr(),
                      "without keep-alives the idle session is ended (exit 247, says why and "
                      "what to do)",
                      (got, rc, fw.stderr()[-300:]))
            fw.interrupt()
            fw.wait(10)
    finally:
        sb.cleanup()



def forced_reconnects(ecsh, sandbox_bin, work, forwards):
    """The service closes each link after a second (--connection-max-age 1, realistic pacing):
    a download and an upload through one connection, three connections at once, and a Port
    session in basic mode (AWS-StartSSHSession, ecsh as the AWS CLI's plugin) cross several
    reconnects intact."""
    sb = Sandbox(sandbox_bin, scenario(), args=["--connection-max-age", "1"]).start()
    try:
        task = wait_for_exec_ready(sb, "e2e")
        fw = Forward(ecsh, sb, [*TGT, "-L", "0:9000"], debug=True, work=work)
        forwards.append(fw)
        fw.read_lines(1)
        size = (2 if SANITIZED else 8) << 20
        ok_down, n = download(fw.address("localhost:9000"), size, 28)
        ok_up, answer = upload(fw.address("localhost:9000"), size, 29)
        links = len(re.findall(r"data channel opened \(link \d+\)", fw.stderr()))
        check(ok_down and ok_up and links >= 3,
              f"{size >> 20} MiB down and up through forced reconnects, SHA-256 intact "
              f"({links} links)", (ok_down, n, ok_up, answer, fw.stderr()[-400:]))
        # Every open connection of the session goes on across the reconnects.
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(lambda i: download(fw.address("localhost:9000"), 1 << 20,
                                                       40 + i)[0], range(3)))
        check(all(results), "three connections at once through forced reconnects, each intact",
              results)
        fw.interrupt()
        fw.wait(10)

        # Basic mode (one connection, stdin and stdout: ssh's ProxyCommand) with ecsh as the
        # plugin of `aws ssm start-session`.
        bindir = os.path.join(work, "bin-forced")
        os.makedirs(bindir, exist_ok=True)
        link = os.path.join(bindir, "session-manager-plugin")
        if not os.path.exists(link):
            os.symlink(ecsh, link)
        env = ecsh_env()
        env["PATH"] = bindir + ":" + env.get("PATH", "/usr/bin:/bin")
        task_id = task["taskArn"].rsplit("/", 1)[1]
        runtime_id = next(c["runtimeId"] for c in task["containers"] if c["name"] == "app")
        size = 2 << 20
        rng = random.Random(31)
        want = hashlib.sha256(rng.randbytes(1 << 20) + rng.randbytes(1 << 20)).hexdigest()
        p = subprocess.run(
            ["sh", "-c", f"{{ printf 'DOWN {size} 31\\n'; sleep 8; }} | \"$@\"", "sh", AWS_CLI,
             "--endpoint-url", sb.url, "ssm", "start-session", "--target",
             f"ecs:e2e_{task_id}_{runtime_id}", "--document-name", "AWS-StartSSHSession",
             "--parameters", "portNumber=9000"], env=env, stdin=subprocess.DEVNULL,
            capture_output=True, timeout=120)
        check(p.returncode == 0 and hashlib.sha256(p.stdout).hexdigest() == want,
              "basic mode (AWS-StartSSHSession, ecsh as the plugin): 2 MiB through forced "
              "reconnects, intact", (p.returncode, len(p.stdout), p.stderr[-300:]))
    finally:
        sb.cleanup()


if __name__ == "__main__":
    sys.exit(main())
