"""`ecsh doctor --all` over many services against one doctor run, same sandbox, same run
(issue #27: --all over 300 services at most 3x one run), with the calls counted."""
import re
import statistics
import subprocess
import time

from sandbox_proc import Sandbox, aws

SSM = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
       "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]


def scenario(services):
    return {
        "roles": [{"name": "r", "policies": [{"name": "p", "document": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": SSM, "Resource": "*"}]}}]}],
        "clusters": [{"name": "fleet", "capacity": {"fargate": True}}],
        "task_definitions": [{"family": "app", "networkMode": "awsvpc",
                              "requiresCompatibilities": ["FARGATE"], "cpu": "256",
                              "memory": "512", "taskRoleArn": "arn:aws:iam::000000000000:role/r",
                              "containerDefinitions": [{"name": "app", "image": "app:1",
                                                        "command": ["sleep", "100000"]}]}],
        "services": [{"cluster": "fleet", "name": f"svc-{i:03d}", "task_definition": "app",
                      "desired_count": 1, "launch_type": "FARGATE",
                      "platform_version": "1.4.0", "enable_execute_command": i % 10 != 0}
                     for i in range(services)],
    }


def running(sb):
    rc, out, _ = aws(sb, "ecs", "list-tasks", "--cluster", "fleet")
    return len(out["taskArns"]) if rc == 0 else 0


# What each API answer costs: 0 (the sandbox as fast as it goes: CPU only) and 30 ms (a region
# on the same continent).
LATENCIES_MS = (0, 30)


def doctor_rows(ecsh, sandbox_bin, env, runs, quick):
    rows = []
    for latency in LATENCIES_MS:
        rows += doctor_rows_at(ecsh, sandbox_bin, env, runs, quick, latency)
    return rows


def doctor_rows_at(ecsh, sandbox_bin, env, runs, quick, latency):
    services = 60 if quick else 300
    sb = Sandbox(sandbox_bin, scenario(services),
                 args=["--agent-pacing", "none", "--api-latency", str(latency)]).start()
    try:
        end = time.monotonic() + 300
        while running(sb) < services and time.monotonic() < end:
            time.sleep(0.5)
        if running(sb) < services:
            raise SystemExit(f"doctor bench: only {running(sb)} of {services} tasks started")

        def timed(*args):
            t0 = time.perf_counter()
            p = subprocess.run([ecsh, "--endpoint-url", sb.url, *args], env=env,
                               stdin=subprocess.DEVNULL, capture_output=True, text=True)
            dt = time.perf_counter() - t0
            if p.returncode not in (0, 1):
                raise SystemExit(f"doctor bench: {args} failed: {p.stderr[-300:]}")
            return dt, p
        one = statistics.median(timed("doctor", "-c", "fleet", "-s", "svc-001")[0]
                                for _ in range(runs))
        every = statistics.median(timed("doctor", "--all", "-c", "fleet")[0]
                                  for _ in range(max(3, runs // 3)))
        _, counted = timed("--debug", "doctor", "--all", "-c", "fleet")  # the calls, untimed
        m = re.search(r"doctor --all: (\d+) calls sent, (\d+) answered", counted.stderr)
        calls = f"{m.group(1)} calls ({int(m.group(1)) / services:.1f}/service), " \
                f"{m.group(2)} shared" if m else "calls not counted"
        where = f"API answers +{latency} ms"
        return [(f"doctor --all, {services} services, {where} (wall)", f"{every:.2f} s",
                 "one doctor run (target: --all <= 3x)", f"{one:.3f} s", f"{every / one:.1f}x"),
                (f"doctor --all, {services} services, {where}: calls", calls, "", "", "")]
    finally:
        sb.cleanup()
