"""Benchmark rows for `ecsh cp` (bench/run.py --only cp): upload and download of one file with
the agent's pacing off and realistic, each against the session's own ceiling measured in the
same run on the same task: `ecsh exec -- cat FILE > FILE` (download) and
`ecsh exec -- sh -c 'cat > FILE' < FILE` (upload), the same bytes through the same session path
without cp's probe, verification and rename. The runs of cp and of its ceiling alternate."""
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e", "lib"))
from sandbox_proc import Sandbox, wait_for_exec_ready  # noqa: E402


def scenario():
    ssm = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
           "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
    return {
        "roles": [{"name": "bench-role", "policies": [{"name": "exec", "document": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ssm, "Resource": "*"}]}}]}],
        "clusters": [{"name": "bench", "capacity": {"fargate": True}}],
        "task_definitions": [{"family": "app", "networkMode": "awsvpc",
                              "requiresCompatibilities": ["FARGATE"], "cpu": "256",
                              "memory": "512",
                              "taskRoleArn": "arn:aws:iam::000000000000:role/bench-role",
                              "containerDefinitions": [{"name": "app", "image": "app:1",
                                                        "essential": True,
                                                        "command": ["sleep", "100000"]}]}],
        "services": [{"cluster": "bench", "name": "app", "task_definition": "app",
                      "desired_count": 1, "launch_type": "FARGATE", "platform_version": "1.4.0",
                      "enable_execute_command": True}],
    }


def timed(cmd, env, stdin=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdin=stdin or subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[3:6])}... failed ({p.returncode}): "
                         f"{p.stderr.decode()[-400:]}")
    return time.perf_counter() - t0


def interleaved(a, b, n):
    """Medians of n runs of a and of b, alternated ABBA: both see the same machine (the page
    cache's write-back of the last 128 MiB, another process) instead of one block of runs after
    the other."""
    ta, tb = [], []
    for i in range(n):
        if i % 2 == 0:
            ta.append(a())
            tb.append(b())
        else:
            tb.append(b())
            ta.append(a())
    return statistics.median(ta), statistics.median(tb)


def cp_rows(ecsh, sandbox_bin, env, runs, quick):
    rows = []
    work = tempfile.mkdtemp(prefix="ecsh-cp-bench-")
    for pacing, size in (("none", (32 if quick else 128) << 20), ("realistic", 4 << 20)):
        src = os.path.join(work, f"src-{pacing}.bin")
        with open(src, "wb") as f:
            # Random bytes without U+FFFD: such a file goes raw. (The agent alters U+FFFD in
            # output, so a file holding one goes base64-encoded: the last row.)
            f.write(os.urandom(size).replace(b"\xef\xbf\xbd", b"\xef\xbf\xbe"))
        # The container sees this machine's filesystem (process runtime): paths of this run.
        remote = os.path.join(work, f"remote-{pacing}.bin")
        args = ["--agent-pacing", pacing] if pacing == "none" else []
        sb = Sandbox(sandbox_bin, scenario(), args=args).start()
        try:
            task = wait_for_exec_ready(sb, "bench")
            tgt = ["-c", "bench", "-t", task["taskArn"], "-n", "app"]
            base = [ecsh, "--endpoint-url", sb.url]
            n = max(2, runs // 3)

            def up():
                return timed(base + ["cp", "-q"] + tgt + [src, ":" + remote], env)

            def down():
                dst = os.path.join(work, f"down-{pacing}.bin")
                if os.path.exists(dst):
                    os.unlink(dst)
                return timed(base + ["cp", "-q"] + tgt + [":" + remote, dst], env)

            def ceiling_up():
                with open(src, "rb") as f:
                    return timed(base + ["exec"] + tgt + ["--", "sh", "-c", f"cat > {remote}.c"],
                                 env, stdin=f)

            def ceiling_down():
                # Into a file here, as cp writes one.
                with open(os.path.join(work, "ceiling.bin"), "wb") as out:
                    t0 = time.perf_counter()
                    p = subprocess.run(base + ["exec"] + tgt + ["--", "cat", remote], env=env,
                                       stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.DEVNULL)
                    if p.returncode != 0:
                        raise SystemExit("exec -- cat failed")
                    return time.perf_counter() - t0

            t_up, t_cu = interleaved(up, ceiling_up, n)
            t_down, t_cd = interleaved(down, ceiling_down, n)
            mb = size / 1e6
            label = "pacing off" if pacing == "none" else "realistic pacing"
            rows.append((f"cp upload {size >> 20} MiB, {label}", f"{mb/t_up:.1f} MB/s",
                         "exec -- sh -c 'cat > f' < f", f"{mb/t_cu:.1f} MB/s",
                         f"{t_cu/t_up:.2f}x"))
            rows.append((f"cp download {size >> 20} MiB, {label}", f"{mb/t_down:.1f} MB/s",
                         "exec -- cat f > f", f"{mb/t_cd:.1f} MB/s", f"{t_cd/t_down:.2f}x"))
            if pacing == "none":
                with open(remote, "ab") as f:
                    f.write(b"\xef\xbf\xbd")  # now it goes base64-encoded
                t_b64 = statistics.median(down() for _ in range(n))
                rows.append((f"cp download {size >> 20} MiB holding a U+FFFD (base64), {label}",
                             f"{mb/t_b64:.1f} MB/s", "exec -- cat f > f (alters it)",
                             f"{mb/t_cd:.1f} MB/s", f"{t_cd/t_b64:.2f}x"))
        finally:
            sb.cleanup()
    subprocess.run(["rm", "-rf", work])
    return rows
