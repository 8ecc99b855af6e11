"""Benchmark rows for the service's forced reconnects (bench/run.py --only reconnect): how long
after the service closes a data channel with close 1000 "Bye" (its hourly close, played every
second with `ecsh-sandbox --connection-max-age 1`) data flows again, for exec and for forward.

The remote side writes a line "SEQ UNIX_TIME" every 2 ms (tests/e2e/forward/forward_server.py
--tick, and its TICK command for forward); the task shares the host's clock, and the sandbox says
on stderr when it closes a link. For each close, the time to data flowing again is the arrival of
the first line written after it, less the close's time and less the median time a line takes
(within a tick: when the link is up again before the next line is written, that wait counts).
Every line must arrive exactly once.

The peer is the official session-manager-plugin driven by the AWS CLI (`aws ecs
execute-command`, `aws ssm start-session`), when --official-plugin names one: it is not a Debian
package, so it is built from its source (BENCHMARKS.md says how). Without it, the rows say so."""
import os
import re
import select
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e", "forward"))
from sandbox_proc import Sandbox, AWS_CLI, wait_for_exec_ready  # noqa: E402
from forward_e2e import Forward, scenario  # noqa: E402
from forward_bench import plugin_first_byte  # noqa: E402

TGT = ["-c", "e2e", "-s", "fwd", "-n", "app"]
TICKER = os.path.join(HERE, "..", "tests", "e2e", "forward", "forward_server.py")
INTERVAL_MS = 2
TICK_LINE = re.compile(rb"^(\d+) (\d+\.\d+)$")
CLOSE_LINE = re.compile(r'link \d+ closed with 1000 "Bye" at (\d+\.\d+)')


def read_ticks(fd, count, timeout):
    """[(seq, written, arrived)] (Unix times) of the tick lines read from fd until `count` have
    come, EOF or `timeout`; other lines (the AWS CLI's and the plugin's) are skipped."""
    ticks, pending = [], b""
    end = time.monotonic() + timeout
    while len(ticks) < count and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        now = time.time()
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            m = TICK_LINE.match(line.strip())
            if m:
                ticks.append((int(m.group(1)), float(m.group(2)), now))
    return ticks


def recoveries(ticks, count, sb):
    """Milliseconds from each of the sandbox's closes during the ticks to data flowing again
    (see the module's doc)."""
    seqs = [s for s, _, _ in ticks]
    if seqs != list(range(count)):
        lost = sorted(set(range(count)) - set(seqs))
        raise SystemExit(f"reconnect bench: {len(seqs)} lines of {count}, {len(lost)} lost "
                         f"(first {lost[:5]}), {len(seqs) - len(set(seqs))} repeated")
    closes = [float(m.group(1)) for m in CLOSE_LINE.finditer(sb.stderr_text())]
    closes = [c for c in closes if ticks[0][1] < c < ticks[-1][1]]
    latency = statistics.median(arrived - written for _, written, arrived in ticks)
    out = []
    for close in closes:
        first = next(arrived for _, written, arrived in ticks if written >= close)
        out.append((first - close - latency) * 1000)
    return out


def exec_ecsh(ecsh, sb, env, count):
    cmd = [ecsh, "--endpoint-url", sb.url, "exec", *TGT, "--", "python3", "-u",
           TICKER, "--tick", str(count), str(INTERVAL_MS)]
    p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        ticks = read_ticks(p.stdout.fileno(), count, count * INTERVAL_MS / 1000 + 60)
        p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return recoveries(ticks, count, sb)


def exec_plugin(sb, env, task, count):
    """`aws ecs execute-command --command` with whichever session-manager-plugin env's PATH
    finds first. Its stdin stays open: the official plugin ends the session at end of file."""
    cmd = [AWS_CLI, "--endpoint-url", sb.url, "ecs", "execute-command", "--cluster", "e2e",
           "--task", task["taskArn"], "--container", "app", "--interactive", "--command",
           f"python3 -u {TICKER} --tick {count} {INTERVAL_MS}"]
    p = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        ticks = read_ticks(p.stdout.fileno(), count, count * INTERVAL_MS / 1000 + 60)
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return recoveries(ticks, count, sb)


def tick_through(addr, count):
    import socket
    with socket.create_connection(addr, timeout=60) as s:
        s.sendall(f"TICK {count} {INTERVAL_MS}\n".encode())
        return read_ticks(s.fileno(), count, count * INTERVAL_MS / 1000 + 60)


def forward_ecsh(ecsh, sb, env, count, work):
    fw = Forward(ecsh, sb, [*TGT, "-L", "0:9000"], env=env, work=work)
    try:
        fw.read_lines(1)
        ticks = tick_through(fw.address("localhost:9000"), count)
    finally:
        fw.interrupt()
        fw.wait(10)
        fw.kill()
    return recoveries(ticks, count, sb)


def forward_plugin(sb, env, task, count, work):
    _, local, proc = plugin_first_byte(sb, env, task, work, port=9000)
    try:
        ticks = tick_through(("127.0.0.1", local), count)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return recoveries(ticks, count, sb)


def reconnect_rows(ecsh, sandbox_bin, env, quick, work, official_plugin=None):
    from run import percentile  # here: run.py imports this module
    seconds = 8 if quick else 30
    count = seconds * 1000 // INTERVAL_MS
    peer_env = None
    if official_plugin:
        bindir = os.path.join(work, "official-plugin")
        os.makedirs(bindir, exist_ok=True)
        os.symlink(os.path.abspath(official_plugin),
                   os.path.join(bindir, "session-manager-plugin"))
        peer_env = dict(env, PATH=bindir + ":" + env.get("PATH", "/usr/bin:/bin"))
    rows = []
    sb = Sandbox(sandbox_bin, scenario(), args=["--connection-max-age", "1"]).start()
    try:
        task = wait_for_exec_ready(sb, "e2e")
        for what, mine, peer, peer_name in (
                ("exec", lambda: exec_ecsh(ecsh, sb, env, count),
                 lambda: exec_plugin(sb, peer_env, task, count),
                 "aws ecs execute-command + official plugin"),
                ("forward", lambda: forward_ecsh(ecsh, sb, env, count, work),
                 lambda: forward_plugin(sb, peer_env, task, count, work),
                 "aws ssm start-session + official plugin")):
            ours = mine()
            theirs = peer() if peer_env else []
            for name, stat in (("median", statistics.median), ("p99", lambda v: percentile(v, 99))):
                mine_v = stat(ours) if ours else float("nan")
                label = f"forced reconnect, {what}: close to data again ({name}, {len(ours)} closes)"
                if theirs:
                    peer_v = stat(theirs)
                    rows.append((label, f"{mine_v:.1f} ms", f"{peer_name} ({len(theirs)} closes)",
                                 f"{peer_v:.1f} ms", f"{peer_v / mine_v:.2f}x"))
                elif peer_env:
                    rows.append((label, f"{mine_v:.1f} ms", peer_name,
                                 "no close seen", ""))
                else:
                    rows.append((label, f"{mine_v:.1f} ms",
                                 "official plugin not measured (--official-plugin)", "n/a", ""))
    finally:
        sb.cleanup()
    return rows
