#!/usr/bin/env python3
"""ecsh against the real amazon-ssm-agent next to the sandbox's built-in agent, in one run
(issue #32): exec -- true, keystroke echo and forward throughput, each on its own sandbox with
the same scenario (the forward tests' task: a byte server on port 9000). The built-in agent runs
with its default, realistic pacing. Needs root and the agent's binaries (docs/real-agent.md).

    /usr/bin/python3 bench/real_agent_bench.py --build build --agent-dir DIR [--runs 20]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e", "forward"))
from run import keystroke_echo, percentile, timed  # noqa: E402
from forward_bench import sink_upload, zero_download  # noqa: E402
from forward_e2e import Forward, scenario  # noqa: E402
from sandbox_proc import Sandbox, aws_env, wait_for_exec_ready  # noqa: E402

TGT = ["-c", "e2e", "-s", "fwd", "-n", "app"]


def measure(ecsh, sandbox_bin, args, env, runs, work):
    out = {}
    sb = Sandbox(sandbox_bin, scenario(), args=args).start()
    try:
        wait_for_exec_ready(sb, "e2e")
        base = [ecsh, "--endpoint-url", sb.url]
        end = time.monotonic() + 90  # the real agent connects a few seconds after the task starts
        while subprocess.run(base + ["exec", *TGT, "--", "true"], env=env,
                             capture_output=True).returncode != 0:
            if time.monotonic() > end:
                raise SystemExit("the agent never answered")
            time.sleep(1)
        walls = [timed(base + ["exec", *TGT, "--", "true"], env) * 1000 for _ in range(runs)]
        out["exec"] = (statistics.median(walls), percentile(walls, 99))
        keys, _ = keystroke_echo(base + ["exec", *TGT], env, keystrokes=300, bursts=1)
        out["keys"] = (statistics.median(keys), percentile(keys, 99))
        fw = Forward(ecsh, sb, [*TGT, "-L", "0:9000"], env=env, work=work)
        try:
            fw.read_lines(1)
            addr = fw.address("localhost:9000")
            size = 4 << 20
            out["down"] = size / statistics.median(zero_download(addr, size) for _ in range(3))
            out["up"] = size / statistics.median(sink_upload(addr, size) for _ in range(3))
        finally:
            fw.interrupt()
            fw.wait(10)
            fw.kill()
    finally:
        sb.cleanup()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--agent-dir", default=os.environ.get("ECSH_REAL_AGENT_DIR", ""))
    ap.add_argument("--runs", type=int, default=20)
    opts = ap.parse_args()
    if not opts.agent_dir:
        raise SystemExit("--agent-dir (or ECSH_REAL_AGENT_DIR): the agent's binaries")
    ecsh = os.path.join(opts.build, "bin", "ecsh")
    sandbox_bin = os.path.join(opts.build, "bin", "ecsh-sandbox")
    env = dict(aws_env(), NO_PROXY="127.0.0.1")
    work = tempfile.mkdtemp(prefix="ecsh-real-agent-bench-")
    builtin = measure(ecsh, sandbox_bin, [], env, opts.runs, work)
    real = measure(ecsh, sandbox_bin, ["--agent-binaries", os.path.abspath(opts.agent_dir)], env,
                   opts.runs, work)
    print(f"runs per measure: {opts.runs} (exec), 300 keys, forward 4 MiB x 3 (medians); "
          f"load average {os.getloadavg()[0]:.1f}")
    rows = [
        ("exec -- true (median)", "exec", 0, "{:.1f} ms"),
        ("exec -- true (p99)", "exec", 1, "{:.1f} ms"),
        ("keystroke echo (300 keys, p50)", "keys", 0, "{:.2f} ms"),
        ("keystroke echo (300 keys, p99)", "keys", 1, "{:.2f} ms"),
        ("forward download (4 MiB)", "down", None, "{:.2f} MB/s"),
        ("forward upload (4 MiB)", "up", None, "{:.2f} MB/s"),
    ]
    print(f"{'measure':34} {'built-in agent':>16} {'real agent 3.3.0.0':>20}")
    for name, key, i, fmt in rows:
        def value(d):
            v = d[key] if i is None else d[key][i]
            return fmt.format(v / 1e6 if i is None else v)
        print(f"{name:34} {value(builtin):>16} {value(real):>20}")


if __name__ == "__main__":
    main()
