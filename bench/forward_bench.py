"""Benchmark rows for `ecsh forward` (bench/run.py --only forward): throughput each way with the
agent's pacing off and realistic, the time from starting the forward to the first byte through
its listener, 100 concurrent connections, and the same through the real AWS CLI's
`ssm start-session` with ecsh as its session-manager-plugin (the peer)."""
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e", "forward"))
from harness import wait  # noqa: E402
from sandbox_proc import Sandbox, AWS_CLI, wait_for_exec_ready  # noqa: E402
from forward_e2e import Forward, scenario, echo_1mib, http_get, free_port  # noqa: E402

TGT = ["-c", "e2e", "-s", "fwd", "-n", "app"]


def zero_download(addr, size):
    """Seconds to receive `size` bytes through the forward (the server sends zeros)."""
    t0 = time.perf_counter()
    n = 0
    with socket.create_connection(addr, timeout=300) as s:
        s.sendall(f"ZERO {size}\n".encode())
        buf = bytearray(1 << 20)
        while True:
            got = s.recv_into(buf)
            if not got:
                break
            n += got
    if n != size:
        raise SystemExit(f"forward download: got {n} of {size} bytes")
    return time.perf_counter() - t0


def sink_upload(addr, size):
    block = bytes(1 << 20)
    t0 = time.perf_counter()
    with socket.create_connection(addr, timeout=300) as s:
        s.sendall(f"SINK {size}\n".encode())
        left = size
        while left > 0:
            k = min(left, len(block))
            s.sendall(block[:k] if k < len(block) else block)
            left -= k
        answer = s.recv(16)
    if answer != b"ok\n":
        raise SystemExit(f"forward upload: the server answered {answer!r}")
    return time.perf_counter() - t0


def first_byte(ecsh, sb, env, work):
    """Seconds from starting `ecsh forward` to the first byte of an HTTP answer through it."""
    t0 = time.perf_counter()
    fw = Forward(ecsh, sb, [*TGT, "-L", "0:8080"], env=env, work=work)
    try:
        fw.read_lines(1)
        addr = fw.address("localhost:8080")
        with socket.create_connection(addr, timeout=30) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            s.recv(1)
        return time.perf_counter() - t0
    finally:
        fw.interrupt()
        fw.wait(10)
        fw.kill()


def plugin_first_byte(sb, env, task, work, port=8080):
    """The same through `aws ssm start-session` with ecsh as its plugin (to the container's
    PORT; the first byte is read only from the web server on 8080)."""
    task_id = task["taskArn"].rsplit("/", 1)[1]
    runtime_id = next(c["runtimeId"] for c in task["containers"] if c["name"] == "app")
    local = free_port()
    out_path = os.path.join(work, f"plugin-{time.monotonic_ns()}.out")
    t0 = time.perf_counter()
    with open(out_path, "w+") as out:
        proc = subprocess.Popen(
            [AWS_CLI, "--endpoint-url", sb.url, "ssm", "start-session", "--target",
             f"ecs:e2e_{task_id}_{runtime_id}", "--document-name",
             "AWS-StartPortForwardingSession", "--parameters",
             f"portNumber={port},localPortNumber={local}"],
            env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            def listening():
                with open(out_path) as f:
                    return "Waiting for connections..." in f.read()
            wait(listening, "the plugin's listener", timeout=60, interval=0.002)
            if port != 8080:
                return time.perf_counter() - t0, local, proc
            with socket.create_connection(("127.0.0.1", local), timeout=30) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                s.recv(1)
            return time.perf_counter() - t0, local, proc
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            raise


def forward_rows(ecsh, sandbox_bin, env, runs, quick, work):
    rows = []
    size = (64 if quick else 256) << 20
    sb = Sandbox(sandbox_bin, scenario(), args=["--agent-pacing", "none"]).start()
    try:
        task = wait_for_exec_ready(sb, "e2e")
        fw = Forward(ecsh, sb, [*TGT, "-L", "0:9000"], env=env, work=work)
        try:
            fw.read_lines(1)
            addr = fw.address("localhost:9000")
            n = max(1, runs // 3)
            down = statistics.median(zero_download(addr, size) for _ in range(n))
            up = statistics.median(sink_upload(addr, size) for _ in range(n))
            rows.append(("forward download, pacing off", f"{size/down/1e6:.0f} MB/s", "target",
                         "100 MB/s", f"{size/down/1e6/100:.2f}x"))
            rows.append(("forward upload, pacing off", f"{size/up/1e6:.0f} MB/s", "target",
                         "100 MB/s", f"{size/up/1e6/100:.2f}x"))
            t0 = time.perf_counter()
            import concurrent.futures
            with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
                ok = all(pool.map(lambda i: echo_1mib(addr, i), range(100)))
            t_conc = time.perf_counter() - t0
            if not ok:
                raise SystemExit("forward: a concurrent echo came back different")
            rows.append(("forward, 100 connections x 1 MiB echoed (wall)", f"{t_conc:.2f} s",
                         "bytes moved each way", "100 MiB",
                         f"{2 * 100 * 1.048576 / t_conc:.0f} MB/s"))
        finally:
            fw.interrupt()
            fw.wait(10)
            fw.kill()
        # The AWS CLI with ecsh as its plugin: the same session client, so the difference is
        # the CLI's start-up and calls.
        _, local, proc = plugin_first_byte(sb, env, task, work, port=9000)
        try:
            t_plugin_down = zero_download(("127.0.0.1", local), size)
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=20)
        rows.append(("forward download via aws ssm start-session", f"{size/down/1e6:.0f} MB/s",
                     "aws ssm start-session + ecsh as plugin", f"{size/t_plugin_down/1e6:.0f} MB/s",
                     f"{t_plugin_down/down:.2f}x"))
    finally:
        sb.cleanup()

    # Realistic pacing (the default): the agent sends 1 KiB per ms.
    sb = Sandbox(sandbox_bin, scenario()).start()
    try:
        task = wait_for_exec_ready(sb, "e2e")
        starts = [first_byte(ecsh, sb, env, work) * 1000 for _ in range(runs)]
        plugin = []
        for _ in range(max(1, runs // 3)):
            t, _, proc = plugin_first_byte(sb, env, task, work)
            plugin.append(t * 1000)
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=20)
        s_med, p_med = statistics.median(starts), statistics.median(plugin)
        rows.append(("forward start to first byte (median)", f"{s_med:.0f} ms",
                     "aws ssm start-session + ecsh as plugin", f"{p_med:.0f} ms",
                     f"{p_med/s_med:.1f}x"))
        fw = Forward(ecsh, sb, [*TGT, "-L", "0:9000"], env=env, work=work)
        try:
            fw.read_lines(1)
            addr = fw.address("localhost:9000")
            real = (2 if quick else 8) << 20
            down = statistics.median(zero_download(addr, real) for _ in range(max(1, runs // 3)))
            up = statistics.median(sink_upload(addr, real) for _ in range(max(1, runs // 3)))
            rows.append(("forward download, realistic pacing", f"{real/down/1e6:.2f} MB/s",
                         "agent's cap (1 KiB per ms)", "1.02 MB/s", f"{real/down/1e6/1.024:.2f}x"))
            rows.append(("forward upload, realistic pacing", f"{real/up/1e6:.0f} MB/s",
                         "target", "100 MB/s", f"{real/up/1e6/100:.2f}x"))
        finally:
            fw.interrupt()
            fw.wait(10)
            fw.kill()
    finally:
        sb.cleanup()
    return rows
