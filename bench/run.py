#!/usr/bin/env python3
"""ecsh benchmarks: one command, one table, every peer measured in the same run on the same
sandbox. Medians of repeated runs; ratios are peer / ecsh (higher is better for ecsh) for
times, ecsh / target for throughput.

    python3 bench/run.py --build build [--runs 10] [--quick]
                         [--only latency|forward|run|cp|stdin|reconnect|doctor]
                         [--official-plugin PATH]
"""
import argparse
import hashlib
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e", "lib"))
from sandbox_proc import Sandbox, aws, aws_env, AWS_CLI, wait_for_exec_ready  # noqa: E402
import dockerd  # noqa: E402
import sshd  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e", "method2"))
from method2_e2e import scenario as method2_scenario  # noqa: E402
sys.path.insert(0, HERE)
from forward_bench import forward_rows  # noqa: E402
from cp_bench import cp_rows  # noqa: E402
from doctor_bench import doctor_rows  # noqa: E402
from reconnect_bench import reconnect_rows  # noqa: E402

SSM = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
       "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]


def scenario(containers=1, tasks=1):
    defs = [{"name": "app" if i == 0 else f"side{i}", "image": "app:latest", "essential": i == 0,
             "command": ["sleep", "100000"]} for i in range(containers)]
    return {
        "roles": [{"name": "bench-role", "policies": [{"name": "exec", "document": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": SSM, "Resource": "*"}]}}]}],
        "clusters": [{"name": "bench", "capacity": {"fargate": True}}],
        "task_definitions": [{"family": "app", "networkMode": "awsvpc",
                              "requiresCompatibilities": ["FARGATE"], "cpu": "256",
                              "memory": "512",
                              "taskRoleArn": "arn:aws:iam::000000000000:role/bench-role",
                              "containerDefinitions": defs}],
        "services": [{"cluster": "bench", "name": "app", "task_definition": "app",
                      "desired_count": tasks, "launch_type": "FARGATE", "platform_version": "1.4.0",
                      "enable_execute_command": True}],
    }


def timed(cmd, env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{cmd[:4]}... failed ({p.returncode}): {p.stderr.decode()[-400:]}")
    return dt


def median_of(runs, fn):
    return statistics.median(fn() for _ in range(runs))


def child_usage(cmd, env, seconds):
    """Peak RSS (KiB) and CPU seconds of a process left idle for `seconds` under a pty."""
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(cmd[0], cmd, env)
    end = time.monotonic() + seconds
    import select
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                os.read(fd, 65536)
            except OSError:
                break
    hwm = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        # Context switches tell the wake-ups while idle.
        with open(f"/proc/{pid}/status") as f:
            switches = sum(int(l.split()[1]) for l in f if "ctxt_switches" in l)
    finally:
        os.write(fd, b"~.")
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    return hwm, cpu, switches


def pty_ceiling(size):
    """MB/s that a bare reader gets out of a pty master on this machine: `head -c` into the
    slave (no echo, no output processing, as ecsh's wrapper sets it), 64 KiB reads on the
    master. What any agent that reads a pty, the sandbox's included, can deliver at most."""
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.system("stty -echo -opost")
        os.execvp("head", ["head", "-c", str(size), "/dev/zero"])
    t0 = time.perf_counter()
    got = 0
    while True:
        try:
            b = os.read(fd, 1 << 16)
        except OSError:  # EIO: the slave side is closed
            break
        if not b:
            break
        got += len(b)
    dt = time.perf_counter() - t0
    os.waitpid(pid, 0)
    os.close(fd)
    if got != size:
        raise SystemExit(f"pty ceiling: read {got} of {size} bytes")
    return size / dt / 1e6


def terminal_encoding(data):
    """Forwarded stdin as ecsh's wrapper receives it through the pty (the 'r' decoder,
    exec/remote_command.hpp): control bytes behind ^V, a ^D after every 4000 data bytes, ^D at
    the end."""
    import re
    ctrl = re.compile(rb"([\x01-\x1f\x7f])")
    pieces = [ctrl.sub(b"\x16\\1", data[i:i + 4000]) for i in range(0, len(data), 4000)]
    return b"\x04".join(pieces) + (b"\x04\x04" if pieces else b"\x04")


def base64_lines(data):
    """Forwarded stdin as the previous wrapper received it: base64 lines of 1020 characters."""
    import base64
    text = base64.b64encode(data)
    lines = [text[i:i + 1020] for i in range(0, len(text), 1020)]
    return b"\n".join(lines) + b"\n\x04", len(text) + len(lines)


def pty_input_ceiling(data, wire, reads=None):
    """MB/s of input (len(data) / time) that a bare writer on a pty master gets through to a
    bare reader (`cat`) on the slave, the slave in the one-shot wrapper's mode (stty -echo -opost,
    canonical), when the master is fed `wire`: what any agent writing a pty can deliver at most."""
    import pty
    import termios
    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    t0 = time.perf_counter()
    p = subprocess.Popen(["wc", "-c"], stdin=slave, stdout=subprocess.PIPE)
    os.close(slave)
    view = memoryview(wire)
    for i in range(0, len(wire), 1 << 16):
        os.write(master, view[i:i + (1 << 16)])
    out = p.communicate()[0]
    dt = time.perf_counter() - t0
    os.close(master)
    expect = len(data) if reads is None else reads
    if int(out.split()[0]) != expect:
        raise SystemExit(f"pty input ceiling: the reader got {out!r}, not {expect} bytes")
    return len(data) / dt / 1e6


def stdin_rows(ecsh, sandbox_bin, env, runs, quick, work):
    """Input through exec (stdin), pacing off: through the pty against the kernel's pty input
    ceiling measured in the same run (alternated), and with the agent on pipes; output through
    the pty against its own ceiling for reference."""
    rows = []
    size = (32 if quick else 128) << 20
    data = os.urandom(size)
    blob = os.path.join(work, "stdin.bin")
    with open(blob, "wb") as f:
        f.write(data)
    wire = terminal_encoding(data)
    b64_wire, b64_reads = base64_lines(data)

    def exec_in(base, path):
        def once():
            with open(path, "rb") as f:
                t0 = time.perf_counter()
                p = subprocess.run(base + ["wc", "-c"], env=env, stdin=f, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
                dt = time.perf_counter() - t0
            if p.returncode != 0 or p.stdout.split()[:1] != [str(size).encode()]:
                raise SystemExit(f"stdin: {p.stdout!r} {p.stderr.decode()[-300:]}")
            return dt
        return once

    sb = Sandbox(sandbox_bin, scenario(1), args=["--agent-pacing", "none"]).start()
    try:
        task = wait_for_exec_ready(sb, "bench")
        base = [ecsh, "--endpoint-url", sb.url, "exec", "-c", "bench", "-t", task["taskArn"],
                "-n", "app", "--"]
        t_pty, ceil_in, ceil_b64 = [], [], []
        for _ in range(max(3, runs // 2)):
            t_pty.append(exec_in(base, blob)())
            ceil_in.append(pty_input_ceiling(data, wire))
            ceil_b64.append(pty_input_ceiling(data, b64_wire, b64_reads))
        mb_pty = size / statistics.median(t_pty) / 1e6
        c_in = statistics.median(ceil_in)
        rows.append(("stdin through the pty, pacing off", f"{mb_pty:.1f} MB/s",
                     "kernel's pty input (bare writer, cat on the slave)", f"{c_in:.1f} MB/s",
                     f"{mb_pty / c_in:.2f}x"))
        c_b64 = statistics.median(ceil_b64)
        rows.append(("  the same ceiling with base64 lines (before)", "",
                     "kernel's pty input, base64 lines", f"{c_b64:.1f} MB/s",
                     f"{mb_pty / c_b64:.2f}x"))
        out_size = size

        def out_once():
            t0 = time.perf_counter()
            p = subprocess.run(base + ["head", "-c", str(out_size), "/dev/zero"], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            dt = time.perf_counter() - t0
            if len(p.stdout) != out_size:
                raise SystemExit(f"output: got {len(p.stdout)} of {out_size} bytes")
            return dt
        t_out, ceil_out = [], []
        for _ in range(max(3, runs // 3)):
            t_out.append(out_once())
            ceil_out.append(pty_ceiling(out_size))
        mb_out = out_size / statistics.median(t_out) / 1e6
        c_out = statistics.median(ceil_out)
        rows.append(("output through the pty, pacing off", f"{mb_out:.1f} MB/s",
                     "kernel's pty output (bare reader of the master)", f"{c_out:.1f} MB/s",
                     f"{mb_out / c_out:.2f}x"))
    finally:
        sb.cleanup()
    sb = Sandbox(sandbox_bin, scenario(1),
                 args=["--agent-pacing", "none", "--agent-io", "pipes"]).start()
    try:
        task = wait_for_exec_ready(sb, "bench")
        base = [ecsh, "--endpoint-url", sb.url, "exec", "-c", "bench", "-t", task["taskArn"],
                "-n", "app", "--"]
        zeros = os.path.join(work, "zeros.bin")
        with open(zeros, "wb") as f:
            f.write(bytes(size))
        t_rand, t_zero = [], []
        for _ in range(max(3, runs // 2)):
            t_rand.append(exec_in(base, blob)())
            t_zero.append(exec_in(base, zeros)())
        for name, ts in (("random bytes", t_rand), ("zeros", t_zero)):
            mb = size / statistics.median(ts) / 1e6
            rows.append((f"stdin, agent on pipes, {name}", f"{mb:.1f} MB/s", "target",
                         "100 MB/s", f"{mb / 100:.2f}x"))
    finally:
        sb.cleanup()
    return rows


def api_calls_per_second(sb, seconds):
    """Replays one SigV4-signed ListClusters request on 8 keep-alive connections (the signature
    stays valid for minutes), so that the client costs next to nothing."""
    import http.client
    import threading
    import urllib.parse
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="POST", url=sb.url + "/", data=b"{}", headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters"})
    SigV4Auth(Credentials("AKIAECSHSANDBOXADMIN", "ecsh-sandbox-secret"), "ecs", "us-east-1").add_auth(req)
    headers = dict(req.headers.items())
    host = urllib.parse.urlparse(sb.url)
    counts = []
    end = time.monotonic() + seconds

    def worker():
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        n = 0
        while time.monotonic() < end:
            conn.request("POST", "/", body=b"{}", headers=headers)
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                n += 1
        counts.append(n)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - t0)


def tasks_held(sb, count):
    for _ in range(count // 10):
        aws(sb, "ecs", "run-task", "--cluster", "bench", "--task-definition", "app", "--count", "10",
            "--network-configuration", "awsvpcConfiguration={subnets=[subnet-0ec5a0d0000000001]}")
    end = time.monotonic() + 60
    running = 0
    while time.monotonic() < end:
        arns = []
        token = None
        while True:
            args = ["ecs", "list-tasks", "--cluster", "bench"] + (["--starting-token", token] if token else [])
            rc, out, _ = aws(sb, *args)
            arns += out["taskArns"]
            token = out.get("NextToken")
            if not token:
                break
        running = 0
        for i in range(0, len(arns), 100):
            _, d, _ = aws(sb, "ecs", "describe-tasks", "--cluster", "bench", "--tasks", *arns[i:i + 100])
            running += sum(1 for t in d["tasks"] if t["lastStatus"] == "RUNNING")
        if running >= count:
            break
        time.sleep(0.5)
    return running


def percentile(values, q):
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


# The --debug lines that mark the phases of `exec -- true`, in order (see the rows below).
PHASE_MARKERS = [("API calls (ExecuteCommand and the lookups)", "websocket upgrade GET"),
                 ("WebSocket open", "session: data channel opened"),
                 ("remote start to first output", "session: first output"),
                 ("command, exit status and close", None)]


def exec_phases(cmd, env):
    """Wall time and the phase boundaries of one `ecsh --debug exec -- true`, in ms from ecsh's
    start (the debug lines' timestamps); the last phase ends at the process's exit."""
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = (time.perf_counter() - t0) * 1000
    if p.returncode != 0:
        raise SystemExit(f"exec --debug failed ({p.returncode}): {p.stderr[-400:]}")
    stamps = {}
    for line in p.stderr.splitlines():
        if not line.startswith("[+"):
            continue
        ms = float(line[2:line.index(" ms]")])
        for _, needle in PHASE_MARKERS:
            if needle and needle in line and needle not in stamps:
                stamps[needle] = ms
    bounds = [stamps.get(n) for _, n in PHASE_MARKERS[:-1]]
    if None in bounds:
        raise SystemExit(f"exec --debug: a phase marker is missing: {stamps}")
    return wall, bounds


def keystroke_echo(cmd, env, keystrokes, bursts):
    """Runs an interactive `ecsh exec` on a pty, starts `cat >/dev/null` in the remote shell (the
    remote pty echoes what it reads), then types one key at a time and measures each key's echo;
    then pastes 4 KiB at once and measures until the paste's last byte is echoed. Returns
    (per-key ms list, per-paste ms list)."""
    import pty
    import select
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(cmd[0], cmd, env)

    def read_until(token, timeout=20):
        buf = b""
        end = time.monotonic() + timeout
        while token not in buf:
            left = end - time.monotonic()
            if left <= 0:
                raise SystemExit(f"keystroke echo: no {token!r} within {timeout}s: {buf[-200:]!r}")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                buf += os.read(fd, 65536)
        return buf

    try:
        os.write(fd, b"stty -onlcr; echo READY$((6*7))\n")
        read_until(b"READY42")
        os.write(fd, b"cat >/dev/null\n")
        time.sleep(0.3)  # let cat start reading
        os.read(fd, 65536)
        keys = []
        for i in range(keystrokes):
            key = b"abcdefghijklmnopqrstuvwxyz"[i % 26:i % 26 + 1]
            if i % 64 == 63:
                key = b"\n"  # keep the remote line short (the canonical buffer holds 4095)
            t0 = time.perf_counter()
            os.write(fd, key)
            read_until(key)
            keys.append((time.perf_counter() - t0) * 1000)
        pastes = []
        for _ in range(bursts):
            line = b"x" * 63 + b"\n"
            paste = line * 63 + b"y" * 63 + b"Z"  # 4096 bytes; Z is echoed last
            os.write(fd, b"\n")
            read_until(b"\n")
            t0 = time.perf_counter()
            os.write(fd, paste)
            read_until(b"Z")
            pastes.append((time.perf_counter() - t0) * 1000)
        return keys, pastes
    finally:
        os.write(fd, b"\n\x04")  # end cat
        time.sleep(0.2)
        os.write(fd, b"exit\n")
        end = time.monotonic() + 10
        while time.monotonic() < end:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            try:
                r, _, _ = select.select([fd], [], [], 0.2)
                if r:
                    os.read(fd, 65536)
            except OSError:
                pass
        else:
            os.write(fd, b"\n~.")
            os.waitpid(pid, 0)
        os.close(fd)


def latency_rows(ecsh, sandbox_bin, env, runs, quick):
    """exec -- true and keystroke echo with the agent's realistic pacing (the default)."""
    rows = []
    sb = Sandbox(sandbox_bin, scenario(1)).start()
    try:
        task = wait_for_exec_ready(sb, "bench")
        tgt = ["-c", "bench", "-t", task["taskArn"], "-n", "app"]
        base = [ecsh, "--endpoint-url", sb.url]
        n = max(runs, 20)
        walls = [timed(base + ["exec"] + tgt + ["--", "true"], env) * 1000 for _ in range(n)]
        t_aws = median_of(runs, lambda: timed(
            [AWS_CLI, "--endpoint-url", sb.url, "ecs", "execute-command", "--cluster", "bench",
             "--task", task["taskArn"], "--container", "app", "--interactive", "--command",
             "true"], env)) * 1000
        med = statistics.median(walls)
        rows.append(("exec -- true, realistic pacing (median)", f"{med:.1f} ms",
                     "aws ecs execute-command + ecsh as plugin", f"{t_aws:.0f} ms",
                     f"{t_aws/med:.1f}x"))
        rows.append(("exec -- true, realistic pacing (p99)", f"{percentile(walls, 99):.1f} ms",
                     "target (median)", "25 ms", f"{25/med:.2f}x"))
        phases = [exec_phases(base + ["--debug", "exec"] + tgt + ["--", "true"], env)
                  for _ in range(n)]
        starts = [0.0] * len(phases)
        for i, (name, _) in enumerate(PHASE_MARKERS):
            if i < len(PHASE_MARKERS) - 1:
                spans = [b[i] - starts[k] for k, (_, b) in enumerate(phases)]
                starts = [b[i] for _, b in phases]
            else:
                spans = [w - starts[k] for k, (w, _) in enumerate(phases)]
            rows.append((f"  phase: {name}", f"{statistics.median(spans):.1f} ms", "p99",
                         f"{percentile(spans, 99):.1f} ms", ""))
        keys, pastes = keystroke_echo(base + ["exec"] + tgt, env,
                                      keystrokes=200 if quick else 1000,
                                      bursts=5 if quick else 20)
        rows.append((f"keystroke echo, realistic pacing ({len(keys)} keys, p50)",
                     f"{statistics.median(keys):.2f} ms", "target p99", "5 ms", ""))
        rows.append((f"keystroke echo, realistic pacing ({len(keys)} keys, p99)",
                     f"{percentile(keys, 99):.2f} ms", "target p99", "5 ms",
                     f"{5/percentile(keys, 99):.2f}x"))
        rows.append((f"4 KiB paste echoed, realistic pacing ({len(pastes)} pastes, p50)",
                     f"{statistics.median(pastes):.1f} ms", "p99",
                     f"{percentile(pastes, 99):.1f} ms", ""))
    finally:
        sb.cleanup()
    return rows


def exec_ready_tasks(sb, count, timeout=300):
    """ARNs of `count` RUNNING tasks of cluster bench whose exec agents are RUNNING (bounded)."""
    end = time.monotonic() + timeout
    ready = []
    while time.monotonic() < end:
        arns, token = [], None
        while True:
            args = ["ecs", "list-tasks", "--cluster", "bench"] + (["--starting-token", token] if token else [])
            rc, out, _ = aws(sb, *args)
            arns += out["taskArns"] if rc == 0 else []
            token = out.get("NextToken") if rc == 0 else None
            if not token:
                break
        ready = []
        for i in range(0, len(arns), 100):
            rc, d, _ = aws(sb, "ecs", "describe-tasks", "--cluster", "bench", "--tasks", *arns[i:i + 100])
            for t in d.get("tasks", []) if rc == 0 else []:
                agents = [a for c in t["containers"] for a in c.get("managedAgents", [])]
                if t["lastStatus"] == "RUNNING" and agents and all(
                        a["lastStatus"] == "RUNNING" for a in agents):
                    ready.append(t["taskArn"])
        if len(ready) >= count:
            return ready
        time.sleep(1)
    raise SystemExit(f"only {len(ready)} of {count} tasks became exec-ready")


def run_rows(ecsh, sandbox_bin, env, runs):
    """`ecsh run -- true` on a 200-task service with the agent's realistic pacing, against a
    shell loop of `aws ecs execute-command` (ecsh as its plugin) on 20 of the same tasks."""
    rows = []
    fleet, peer_tasks = 200, 20
    sb = Sandbox(sandbox_bin, scenario(1, tasks=fleet)).start()
    try:
        arns = exec_ready_tasks(sb, fleet)
        cmd = [ecsh, "--endpoint-url", sb.url, "run", "-c", "bench", "-s", "app", "--", "true"]
        t_run = median_of(min(runs, 5), lambda: timed(cmd, env))
        loop = "".join(
            f"{AWS_CLI} --endpoint-url {sb.url} ecs execute-command --cluster bench --task {a} "
            "--container app --interactive --command true >/dev/null || exit 1\n"
            for a in arns[:peer_tasks])
        t_loop = median_of(min(runs, 3), lambda: timed(["sh", "-c", loop], env))
        per_ecsh, per_peer = t_run / fleet, t_loop / peer_tasks
        rows.append((f"run -- true on {fleet} tasks, realistic pacing (wall)", f"{t_run:.2f} s",
                     f"shell loop of aws ecs execute-command + ecsh as plugin, {peer_tasks} tasks",
                     f"{t_loop:.2f} s", f"{per_peer/per_ecsh:.0f}x per task"))
        rows.append(("  per task", f"{per_ecsh*1000:.1f} ms", "per task (peer)",
                     f"{per_peer*1000:.0f} ms", ""))
        rows.append((f"run -- true on {fleet} tasks (target)", f"{t_run:.2f} s", "target", "5 s",
                     f"{5/t_run:.2f}x"))
    finally:
        sb.cleanup()
    return rows


def method2_rows(ecsh, sandbox_bin, env, runs):
    rows = []
    engine = dockerd.Dockerd().start()
    sb = ssh = None
    try:
        engine.import_busybox()
        sb = Sandbox(sandbox_bin, method2_scenario(),
                     args=["--runtime", "docker", "--docker-host", engine.host,
                           "--agent-pacing", "none"]).start()
        ssh = sshd.Sshd(env={"DOCKER_HOST": engine.host}).start()
        end = time.monotonic() + 60
        task = None
        while time.monotonic() < end and not task:
            rc, out, _ = aws(sb, "ecs", "list-tasks", "--cluster", "prod")
            if rc == 0 and out["taskArns"]:
                rc, d, _ = aws(sb, "ecs", "describe-tasks", "--cluster", "prod", "--tasks",
                               out["taskArns"][0])
                if d["tasks"][0]["lastStatus"] == "RUNNING":
                    task = d["tasks"][0]
            time.sleep(0.2)
        if not task:
            raise SystemExit("method 2: no running task")
        ssh_o = []
        for o in ssh.client_options():
            ssh_o += ["-o", o]
        ssh_cmd = ["ssh", "-l", "root", "-i", ssh.client_key] + ssh_o
        tgt = ["-c", "prod", "-t", task["taskArn"], "-n", "app", "--via", "ec2"]
        base = [ecsh, "--endpoint-url", sb.url, "exec"] + tgt
        t_ssm = median_of(runs, lambda: timed(base + ["--", "true"], env))
        ecsh_ssh = base + ["--ssh", "--ssh-user", "root", "-i", ssh.client_key]
        for o in ssh.client_options():
            ecsh_ssh += ["--ssh-option", o]
        t_ssh = median_of(runs, lambda: timed(ecsh_ssh + ["--", "true"], env))

        def by_hand():
            t0 = time.perf_counter()
            cli = [AWS_CLI, "--endpoint-url", sb.url, "--output", "text"]
            ci = subprocess.run(cli + ["ecs", "describe-tasks", "--cluster", "prod", "--tasks",
                                       task["taskArn"], "--query",
                                       "tasks[0].containerInstanceArn"],
                                env=env, capture_output=True, text=True).stdout.strip()
            iid = subprocess.run(cli + ["ecs", "describe-container-instances", "--cluster", "prod",
                                        "--container-instances", ci, "--query",
                                        "containerInstances[0].ec2InstanceId"],
                                 env=env, capture_output=True, text=True).stdout.strip()
            ip = subprocess.run(cli + ["ec2", "describe-instances", "--instance-ids", iid,
                                       "--query",
                                       "Reservations[0].Instances[0].PrivateIpAddress"],
                                env=env, capture_output=True, text=True).stdout.strip()
            remote = ("docker exec $(docker ps -q --filter label=com.amazonaws.ecs.task-arn=" +
                      task["taskArn"] + " --filter label=com.amazonaws.ecs.container-name=app)"
                      " true")
            p = subprocess.run(ssh_cmd + [ip, remote], env=env, stdin=subprocess.DEVNULL,
                               capture_output=True)
            if p.returncode != 0:
                raise SystemExit(f"by hand: {p.stderr[-300:]}")
            return time.perf_counter() - t0
        t_hand = median_of(max(1, runs // 2), by_hand)
        rows.append(("exec --via ec2 -- true, SSM (wall)", f"{t_ssm*1000:.0f} ms",
                     "by hand: 3 AWS CLI calls + ssh + docker", f"{t_hand*1000:.0f} ms",
                     f"{t_hand/t_ssm:.1f}x"))
        rows.append(("exec --via ec2 --ssh -- true (wall)", f"{t_ssh*1000:.0f} ms",
                     "by hand: 3 AWS CLI calls + ssh + docker", f"{t_hand*1000:.0f} ms",
                     f"{t_hand/t_ssh:.1f}x"))
    finally:
        if ssh:
            ssh.stop()
        if sb:
            sb.stop()
        engine.stop()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="fewer runs, smaller transfers")
    ap.add_argument("--only",
                    choices=["latency", "forward", "run", "cp", "stdin", "reconnect", "doctor"],
                    help="run one group of rows only")
    ap.add_argument("--official-plugin", metavar="PATH",
                    help="the official session-manager-plugin, the peer of the reconnect rows")
    opts = ap.parse_args()
    runs = 3 if opts.quick else opts.runs
    ecsh = os.path.abspath(os.path.join(opts.build, "bin", "ecsh"))
    sandbox_bin = os.path.abspath(os.path.join(opts.build, "bin", "ecsh-sandbox"))
    work = tempfile.mkdtemp(prefix="ecsh-bench-")
    bindir = os.path.join(work, "bin")
    os.makedirs(bindir)
    os.symlink(ecsh, os.path.join(bindir, "session-manager-plugin"))
    rows = []
    env = aws_env()
    env["NO_PROXY"] = "127.0.0.1"
    env["PATH"] = bindir + ":" + env.get("PATH", "/usr/bin:/bin")
    try:
        if opts.only in (None, "forward"):
            rows += forward_rows(ecsh, sandbox_bin, env, runs, opts.quick, work)
        if opts.only in (None, "cp"):
            rows += cp_rows(ecsh, sandbox_bin, env, runs, opts.quick)
        if opts.only in (None, "stdin"):
            rows += stdin_rows(ecsh, sandbox_bin, env, runs, opts.quick, work)
        if opts.only in (None, "latency"):
            rows += latency_rows(ecsh, sandbox_bin, env, runs, opts.quick)
        if opts.only in (None, "run"):
            rows += run_rows(ecsh, sandbox_bin, env, runs)
        if opts.only in (None, "reconnect"):
            rows += reconnect_rows(ecsh, sandbox_bin, env, opts.quick, work, opts.official_plugin)
        if opts.only in (None, "doctor"):
            rows += doctor_rows(ecsh, sandbox_bin, env, runs, opts.quick)
        if opts.only is not None:
            raise StopIteration
        sb = Sandbox(sandbox_bin, scenario(10), args=["--agent-pacing", "none"]).start()
        task = wait_for_exec_ready(sb, "bench")
        base = [ecsh, "--endpoint-url", sb.url]
        tgt = ["-c", "bench", "-t", task["taskArn"], "-n", "app"]

        # 1. exec -- true, end to end.
        t_ecsh = median_of(runs, lambda: timed(base + ["exec"] + tgt + ["--", "true"], env))
        t_aws = median_of(runs, lambda: timed(
            [AWS_CLI, "--endpoint-url", sb.url, "ecs", "execute-command", "--cluster", "bench",
             "--task", task["taskArn"], "--container", "app", "--interactive", "--command",
             "true"], env))
        rows.append(("exec -- true, pacing off (wall, median)", f"{t_ecsh*1000:.0f} ms",
                     "aws ecs execute-command + ecsh as plugin", f"{t_aws*1000:.0f} ms",
                     f"{t_aws/t_ecsh:.1f}x"))

        # 2. doctor vs the checker's sequence of AWS CLI calls.
        def doctor_once():
            t0 = time.perf_counter()
            subprocess.run(base + ["doctor", "-c", "bench", "-t", task["taskArn"]], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return time.perf_counter() - t0
        t_doc = median_of(runs, doctor_once)
        checker_calls = [
            ["sts", "get-caller-identity"],
            ["ecs", "describe-tasks", "--cluster", "bench", "--tasks", task["taskArn"]],
            ["ecs", "describe-clusters", "--clusters", "bench", "--include", "CONFIGURATIONS"],
            ["iam", "simulate-principal-policy", "--policy-source-arn",
             "arn:aws:iam::000000000000:role/bench-role", "--action-names", "ecs:ExecuteCommand"],
            ["iam", "simulate-principal-policy", "--policy-source-arn",
             "arn:aws:iam::000000000000:role/bench-role", "--action-names", "ssm:StartSession"],
            ["ecs", "describe-task-definition", "--task-definition", task["taskDefinitionArn"]],
            ["iam", "simulate-principal-policy", "--policy-source-arn",
             "arn:aws:iam::000000000000:role/bench-role", "--action-names", *SSM],
            ["ec2", "describe-subnets"],
            ["ec2", "describe-vpc-endpoints"],
        ]
        def checker_once():
            t0 = time.perf_counter()
            for c in checker_calls:
                subprocess.run([AWS_CLI, "--endpoint-url", sb.url] + c, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return time.perf_counter() - t0
        t_chk = median_of(max(1, runs // 3), checker_once)
        rows.append(("doctor, 10-container task (wall)", f"{t_doc*1000:.0f} ms",
                     f"checker's {len(checker_calls)} AWS CLI calls", f"{t_chk*1000:.0f} ms",
                     f"{t_chk/t_doc:.1f}x"))

        # 3. Throughput, pacing off.
        size = (64 if opts.quick else 256) << 20
        def out_once():
            t0 = time.perf_counter()
            p = subprocess.run(base + ["exec"] + tgt + ["--", "head", "-c", str(size), "/dev/zero"],
                               env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            dt = time.perf_counter() - t0
            if len(p.stdout) != size:
                raise SystemExit(f"output: got {len(p.stdout)} of {size} bytes: {p.stderr[-300:]}")
            return dt
        t_out = median_of(max(1, runs // 3), out_once)
        rows.append(("output throughput, pacing off", f"{size/t_out/1e6:.0f} MB/s",
                     "target", "300 MB/s", f"{size/t_out/1e6/300:.2f}x"))
        in_size = (32 if opts.quick else 128) << 20
        blob = os.path.join(work, "in.bin")
        with open(blob, "wb") as f:
            f.write(os.urandom(in_size))
        def in_once():
            with open(blob, "rb") as f:
                return timed(base + ["exec"] + tgt + ["--", "wc", "-c"], env, stdin=f)
        t_in = median_of(max(1, runs // 3), in_once)
        rows.append(("input throughput (stdin), pacing off", f"{in_size/t_in/1e6:.0f} MB/s",
                     "target", "100 MB/s", f"{in_size/t_in/1e6/100:.2f}x"))
        ceiling = statistics.median(pty_ceiling(size) for _ in range(max(1, runs // 3)))
        rows.append(("output through the pty vs the kernel's pty", f"{size/t_out/1e6:.0f} MB/s",
                     "bare reader of a pty master", f"{ceiling:.0f} MB/s",
                     f"{size/t_out/1e6/ceiling:.2f}x"))

        # 3a. Realistic pacing (the default): the agent sends 1 KiB and sleeps 1 ms, so output
        #     cannot pass 1.024 MB/s; ecsh should deliver all of it. Input is not paced.
        sb_real = Sandbox(sandbox_bin, scenario(1)).start()
        try:
            rt = wait_for_exec_ready(sb_real, "bench")
            rbase = [ecsh, "--endpoint-url", sb_real.url, "exec", "-c", "bench", "-t",
                     rt["taskArn"], "-n", "app", "--"]
            real_size = (2 if opts.quick else 8) << 20
            t_real = median_of(max(1, runs // 3), lambda: timed(
                rbase + ["head", "-c", str(real_size), "/dev/zero"], env))
            rows.append(("output throughput, realistic pacing", f"{real_size/t_real/1e6:.2f} MB/s",
                         "agent's cap (1 KiB per ms)", "1.02 MB/s",
                         f"{real_size/t_real/1e6/1.024:.2f}x"))
            real_in = os.path.join(work, "in-real.bin")
            with open(real_in, "wb") as f:
                f.write(os.urandom(real_size))

            def in_real():
                with open(real_in, "rb") as f:
                    return timed(rbase + ["wc", "-c"], env, stdin=f)
            t_real_in = median_of(max(1, runs // 3), in_real)
            rows.append(("input throughput (stdin), realistic pacing",
                         f"{real_size/t_real_in/1e6:.0f} MB/s", "target", "100 MB/s",
                         f"{real_size/t_real_in/1e6/100:.2f}x"))
        finally:
            sb_real.cleanup()

        # 3b. The same without the pty (--agent-io pipes, benchmarks only): what ecsh itself
        #     sustains when the kernel's pty line discipline is not in the way.
        sb_pipes = Sandbox(sandbox_bin, scenario(1),
                           args=["--agent-pacing", "none", "--agent-io", "pipes"]).start()
        try:
            pt = wait_for_exec_ready(sb_pipes, "bench")
            pbase = [ecsh, "--endpoint-url", sb_pipes.url, "exec", "-c", "bench", "-t",
                     pt["taskArn"], "-n", "app", "--"]
            def out_pipes():
                t0 = time.perf_counter()
                p = subprocess.run(pbase + ["head", "-c", str(size), "/dev/zero"], env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
                dt = time.perf_counter() - t0
                if len(p.stdout) != size:
                    raise SystemExit(f"output (pipes): got {len(p.stdout)} of {size} bytes")
                return dt
            t_outp = median_of(max(1, runs // 3), out_pipes)
            rows.append(("output throughput, agent without pty", f"{size/t_outp/1e6:.0f} MB/s",
                         "target", "300 MB/s", f"{size/t_outp/1e6/300:.2f}x"))
            def in_pipes():
                with open(blob, "rb") as f:
                    return timed(pbase + ["wc", "-c"], env, stdin=f)
            t_inp = median_of(max(1, runs // 3), in_pipes)
            rows.append(("input throughput, agent without pty", f"{in_size/t_inp/1e6:.0f} MB/s",
                         "target", "100 MB/s", f"{in_size/t_inp/1e6/100:.2f}x"))
        finally:
            sb_pipes.cleanup()

        # 4. Idle interactive session.
        idle = 15 if opts.quick else 60
        hwm, cpu, switches = child_usage(base + ["exec"] + tgt, env, idle)
        rows.append((f"idle interactive session, {idle} s", f"{hwm/1024:.1f} MB peak RSS",
                     "CPU time", f"{cpu*1000:.0f} ms", f"{switches} context switches"))
        sb.cleanup()

        # 5. The sandbox itself: simple API calls per second, and tasks held.
        sb = Sandbox(sandbox_bin, scenario(1), args=["--agent-pacing", "none"]).start()
        rate = api_calls_per_second(sb, seconds=3 if opts.quick else 8)
        rows.append(("sandbox: ListClusters calls/s (8 connections)", f"{rate:.0f}/s", "target",
                     "2000/s", f"{rate/2000:.2f}x"))
        held = tasks_held(sb, 200)
        rows.append(("sandbox: tasks running at once (process runtime)", str(held), "target", "200",
                     f"{held/200:.2f}x"))
        sb.cleanup()

        # 6. Method 2 (needs root, dockerd, busybox-static and sshd): ecsh --via ec2 against the
        #    runbook by hand: three AWS CLI calls to find the instance, then ssh + docker exec.
        if dockerd.available() and sshd.available():
            rows += method2_rows(ecsh, sandbox_bin, env, runs)
    except StopIteration:
        pass
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"ecsh benchmarks: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.platform()}")
    v = subprocess.run([AWS_CLI, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"peer: {v}; runs per measure: {runs} (medians)\n")
    widths = [max(len(str(r[i])) for r in rows + [("measure", "ecsh", "peer", "peer value", "ratio")])
              for i in range(5)]
    head = ("measure", "ecsh", "peer", "peer value", "ratio")
    for r in [head] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
