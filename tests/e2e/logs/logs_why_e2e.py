#!/usr/bin/env python3
"""`ecsh logs` and `ecsh why` against the sandbox (process runtime).

logs: a service of two tasks printing numbered lines, read whole, followed with -f while lines
keep coming (every line once, in order per stream, Ctrl-C exits 0), filtered by --since, --until
and --grep, as JSON lines; a firelens sidecar is named as not readable.
why: a task whose essential container exits 1, one killed for exceeding its memory hard limit
(137, OutOfMemoryError), one stopped before it started because its log group is missing, a
service whose task fails its container health check, and a service in a crash loop that the
circuit breaker rolls back; each with the right verdict and the last log lines, as text that
fits 80 columns and as JSON. `ls tasks --stopped` lists them. (CannotPullContainerError needs
the docker runtime: tests/e2e/method2 checks `ecsh why` on such a task.)"""
import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import Checks, wait  # noqa: E402
from sandbox_proc import Sandbox, aws, aws_env  # noqa: E402

check = Checks()
GROUP = "/ecs/e2e"


def awslogs(prefix="ecs", group=GROUP, create=None):
    opts = {"awslogs-group": group, "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": prefix}
    if create is not None:
        opts["awslogs-create-group"] = create
    return {"logDriver": "awslogs", "options": opts}


def fargate(family, containers):
    return {"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "512", "containerDefinitions": containers}


COUNTER = "i=0; while true; do i=$((i+1)); echo \"line $i\"; sleep 0.1; done"
ALLOCATE = ("import time\n"
            "print('starting the import job', flush=True)\n"
            "chunks = []\n"
            "for i in range(1, 60):\n"
            "    chunks.append(b'x' * (8 * 1024 * 1024))\n"
            "    print('allocated', i * 8, 'MiB', flush=True)\n"
            "    time.sleep(0.1)\n"
            "time.sleep(60)\n")


def scenario():
    return {
        "clusters": [{"name": "e2e", "capacity": {"fargate": True}}],
        "log_groups": [GROUP],
        "task_definitions": [
            fargate("counter", [
                {"name": "app", "image": "app:1", "command": ["sh", "-c", COUNTER],
                 "logConfiguration": awslogs()},
                {"name": "router", "image": "fluent-bit:1", "essential": False,
                 "logConfiguration": {"logDriver": "awsfirelens"}}]),
            fargate("crash", [
                {"name": "app", "image": "app:1", "logConfiguration": awslogs(),
                 "command": ["sh", "-c", "echo starting; echo 'error: DB_URL is not set'; "
                             "sleep 0.5; exit 1"]}]),
            fargate("oom", [
                {"name": "worker", "image": "worker:1", "memory": 64,
                 "logConfiguration": awslogs(), "command": ["python3", "-c", ALLOCATE]}]),
            fargate("nogroup", [
                {"name": "app", "image": "app:1", "command": ["sleep", "600"],
                 "logConfiguration": awslogs(group="/ecs/missing")}]),
            fargate("autogroup", [
                {"name": "app", "image": "app:1", "command": ["sh", "-c", "echo hello; sleep 600"],
                 "logConfiguration": awslogs(group="/ecs/made-on-start", create="true")}]),
            fargate("sick", [
                {"name": "web", "image": "web:1", "logConfiguration": awslogs(),
                 "command": ["sh", "-c", "while true; do echo serving; sleep 0.5; done"],
                 "healthCheck": {"command": ["CMD-SHELL", "test -f /nonexistent/ready"],
                                 "interval": 5, "timeout": 2, "retries": 1}}]),
            fargate("good", [
                {"name": "app", "image": "app:1", "logConfiguration": awslogs(),
                 "command": ["sh", "-c", "echo ready; sleep 600"]}]),
            fargate("bad", [
                {"name": "app", "image": "app:2", "logConfiguration": awslogs(),
                 "command": ["sh", "-c", "echo 'fatal: cannot reach the database'; exit 3"]}]),
        ],
        "services": [
            {"cluster": "e2e", "name": "counter", "task_definition": "counter",
             "desired_count": 2},
            {"cluster": "e2e", "name": "sick", "task_definition": "sick", "desired_count": 1},
            {"cluster": "e2e", "name": "loop", "task_definition": "good", "desired_count": 1,
             "circuit_breaker": {"enable": True, "rollback": True}},
        ],
    }


class Ecsh:
    def __init__(self, binary, sandbox):
        self.binary = binary
        self.sb = sandbox
        self.env = aws_env()
        self.env["NO_PROXY"] = "127.0.0.1"

    def cmd(self, *args, json_out=False):
        return [self.binary, "--endpoint-url", self.sb.url] + \
            (["--output", "json"] if json_out else []) + list(args)

    def run(self, *args, json_out=False, timeout=60):
        p = subprocess.run(self.cmd(*args, json_out=json_out), env=self.env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr


def fits(text, width=80):
    return all(len(line) <= width for line in text.splitlines())


def run_task(sb, family):
    rc, out, err = aws(sb, "ecs", "run-task", "--cluster", "e2e", "--task-definition", family,
                       "--launch-type", "FARGATE", "--network-configuration",
                       "awsvpcConfiguration={subnets=[subnet-0ec5a0d0000000001]}")
    assert rc == 0, err
    return out["tasks"][0]["taskArn"].rsplit("/", 1)[1]


def describe(sb, task_id):
    rc, out, _ = aws(sb, "ecs", "describe-tasks", "--cluster", "e2e", "--tasks", task_id)
    return out["tasks"][0] if rc == 0 and out.get("tasks") else None


def wait_stopped(sb, task_id, timeout=60):
    return wait(lambda: (lambda t: t if t and t["lastStatus"] == "STOPPED" else None)(
        describe(sb, task_id)), f"task {task_id} to stop", timeout=timeout)


def service_tasks(sb, service, status="RUNNING"):
    rc, out, _ = aws(sb, "ecs", "list-tasks", "--cluster", "e2e", "--service-name", service,
                     "--desired-status", status)
    return [a.rsplit("/", 1)[1] for a in out["taskArns"]] if rc == 0 else []


def numbers_by_task(events):
    """{task: [n, …]} from JSON events whose message is 'line N'."""
    out = {}
    for e in events:
        if e["container"] != "app" or not e["message"].startswith("line "):
            continue
        out.setdefault(e["task"], []).append(int(e["message"].split()[1]))
    return out


def test_logs(ecsh, sb):
    wait(lambda: len(service_tasks(sb, "counter")) == 2, "two counter tasks")
    tasks = service_tasks(sb, "counter")
    time.sleep(2)

    # Whole, as text: both tasks, labelled; the firelens sidecar named on stderr.
    rc, out, err = ecsh.run("logs", "-c", "e2e", "-s", "counter")
    lines = out.splitlines()
    check(rc == 0 and len(lines) >= 20, "logs: the service's lines", (rc, out[-300:], err))
    check(all(any(re.search(t[:6] + r"/app +\| line", ln) for ln in lines) for t in tasks),
          "logs: each line is prefixed with the task and container", lines[:4])
    check("firelens: not readable here" in err, "logs: a firelens container is named with its "
          "driver", err)
    check(fits(out), "logs: text fits 80 columns", max(lines, key=len))

    # Followed, as JSON, while lines keep coming; Ctrl-C ends it with 0.
    p = subprocess.Popen(ecsh.cmd("logs", "-f", "-c", "e2e", "-s", "counter", "-n", "app",
                                  json_out=True),
                         env=ecsh.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(6)
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    check(p.returncode == 130, "logs -f: Ctrl-C exits 130", (p.returncode, err[-300:]))
    events = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    by_task = numbers_by_task(events)
    check(set(by_task) == set(tasks), "logs -f: both tasks' streams", list(by_task))
    ok = all(nums == list(range(1, len(nums) + 1)) for nums in by_task.values())
    check(ok, "logs -f: every line once, in order, per stream (1..N without gaps or duplicates)",
          {t: (n[:5], n[-5:], len(n)) for t, n in by_task.items()})
    # The lines printed while following: more than the ~50 that existed when it started.
    check(all(len(n) >= 60 for n in by_task.values()),
          "logs -f: lines that arrived while following were printed",
          {t: len(n) for t, n in by_task.items()})
    times = [e["timestamp"] for e in events]
    check(times == sorted(times), "logs -f: merged in time order", times[:10])
    check(all({"time", "task", "container", "stream", "message", "group"} <= set(e)
              for e in events), "logs --output json: one event per line with its fields",
          events[:1])

    # --since / --until: an absolute window from the events' own timestamps.
    rc, out, _ = ecsh.run("logs", "-c", "e2e", "-s", "counter", "-n", "app", json_out=True)
    allev = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    mid = allev[len(allev) // 2]["timestamp"]
    iso = datetime.datetime.fromtimestamp(mid / 1000, datetime.timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    rc, out, err = ecsh.run("logs", "-c", "e2e", "-s", "counter", "-n", "app", "--since", iso,
                            json_out=True)
    got = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    check(rc == 0 and got and min(e["timestamp"] for e in got) >= mid and
          all(1 not in n for n in numbers_by_task(got).values()),
          "logs --since ISO: only events from then on", (rc, err, got[:2]))
    rc, out, err = ecsh.run("logs", "-c", "e2e", "-s", "counter", "-n", "app", "--until", iso,
                            json_out=True)
    got = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    check(rc == 0 and got and max(e["timestamp"] for e in got) <= mid,
          "logs --until ISO: only events up to then", (rc, err, got[-2:]))
    rc, out, err = ecsh.run("logs", "-c", "e2e", "-s", "counter", "-n", "app", "--since", "2s",
                            json_out=True)
    got = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    now_ms = time.time() * 1000
    check(rc == 0 and got and min(e["timestamp"] for e in got) >= now_ms - 4000,
          "logs --since 2s: only the last seconds", (rc, err, got[:1]))
    rc, out, err = ecsh.run("logs", "-c", "e2e", "-s", "counter", "-n", "app", "--grep", "line 7",
                            json_out=True)
    got = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    check(rc == 0 and got and all("line 7" in e["message"] for e in got) and
          len(got) < len(allev), "logs --grep: only matching lines", (rc, err, got[:3]))
    rc, out, err = ecsh.run("logs", "-c", "e2e", "-s", "counter", "--since", "yesterday")
    check(rc == 252 and "cannot read the time" in err and len(err.strip().splitlines()) <= 2,
          "logs --since garbage: a usage error that says what to give", (rc, err))


def test_why(ecsh, sb):
    crash = run_task(sb, "crash")
    oom = run_task(sb, "oom")
    nogroup = run_task(sb, "nogroup")
    auto = run_task(sb, "autogroup")
    for t in (crash, oom, nogroup):
        wait_stopped(sb, t)

    # Essential container exits 1.
    rc, out, err = ecsh.run("why", "-c", "e2e", "-t", crash)
    check(rc == 0 and "exited with code 1" in out and "error: DB_URL is not set" in out and
          "EssentialContainerExited" in out, "why: an essential container that exits 1, with its "
          "last log lines", out + err)
    check(fits(out), "why (exit 1): fits 80 columns", out)
    rc, out, err = ecsh.run("why", "-c", "e2e", "-t", crash[:10], json_out=True)
    j = json.loads(out) if rc == 0 else {}
    check(j.get("schema") == "ecsh.why.task/1" and
          j.get("culprit") == "app" and j["containers"][0]["exit_code"] == 1 and
          j.get("stop_code") == "EssentialContainerExited" and
          any("DB_URL" in ln["message"] for ln in j.get("log_lines", [])),
          "why --output json (task prefix): culprit, exit code, stop code, log lines", out + err)

    # Killed for memory.
    t = describe(sb, oom)
    c = t["containers"][0]
    check(c.get("exitCode") == 137 and "OutOfMemoryError" in c.get("reason", ""),
          "sandbox: a container over its memory limit exits 137 with OutOfMemoryError", c)
    rc, out, err = ecsh.run("why", "-c", "e2e", "-t", oom)
    check(rc == 0 and "ran out of memory" in out and "exit 137" in out and "allocated" in out,
          "why: killed for memory (137, OutOfMemoryError) with the last lines", out + err)
    check(fits(out), "why (OOM): fits 80 columns", out)

    # The log group is missing: the task never started.
    t = describe(sb, nogroup)
    check(t["stopCode"] == "TaskFailedToStart" and "log group does not exist" in
          t.get("stoppedReason", ""), "sandbox: a missing log group stops the task before it "
          "starts", t.get("stoppedReason"))
    rc, out, err = ecsh.run("why", "-c", "e2e", "-t", nogroup)
    check(rc == 0 and "awslogs-create-group" in out, "why: a missing log group, with the fix",
          out + err)
    rc, groups, _ = aws(sb, "logs", "describe-log-groups", "--log-group-name-prefix",
                        "/ecs/made-on-start")
    check(rc == 0 and len(groups["logGroups"]) == 1,
          "sandbox: awslogs-create-group true creates the group", groups)
    rc, streams, _ = aws(sb, "logs", "describe-log-streams", "--log-group-name",
                         "/ecs/made-on-start")
    check(rc == 0 and [s["logStreamName"] for s in streams["logStreams"]] == [f"ecs/app/{auto}"],
          "sandbox: the stream is prefix/container/task-id", streams)

    # ls tasks --stopped.
    rc, out, err = ecsh.run("ls", "tasks", "--stopped", "-c", "e2e")
    check(rc == 0 and crash[:8] in out and "EssentialContainerExited" in out and
          "app:1" in out and "worker:137" in out and "TaskFailedToStart" in out,
          "ls tasks --stopped: stop codes, exit codes and reasons", out + err)
    check(fits(out), "ls tasks --stopped: fits 80 columns", out)
    rc, out, err = ecsh.run("ls", "tasks", "--stopped", "-c", "e2e", json_out=True)
    rows = json.loads(out) if rc == 0 else []
    row = next((r for r in rows if r["task"] == oom), {})
    check(row.get("stop_code") == "EssentialContainerExited" and
          row["containers"][0]["exit_code"] == 137 and
          "OutOfMemoryError" in row["containers"][0]["reason"],
          "ls tasks --stopped --output json", row)

    # A failing container health check: the service replaces the task.
    first = wait(lambda: service_tasks(sb, "sick"), "the sick service's task")[0]
    wait_stopped(sb, first, timeout=60)
    t = describe(sb, first)
    check(t.get("stoppedReason") == "Task failed container health checks" and
          t["containers"][0]["healthStatus"] == "UNHEALTHY",
          "sandbox: a failing health check stops the service's task", t.get("stoppedReason"))
    rc, out, err = ecsh.run("why", "-c", "e2e", "-s", "sick")
    check(rc == 0 and "failed container health checks" in out and
          "healthCheck" in out and "serving" in out,
          "why -s: a task replaced for failing its health check, the events and last lines",
          out + err)
    check(fits(out), "why (health check): fits 80 columns", out)
    rc, out, err = ecsh.run("why", "-c", "e2e", "-t", first, json_out=True)
    j = json.loads(out) if rc == 0 else {}
    check(j.get("culprit") == "web" and "health" in j.get("verdict", "") + j.get("cause", ""),
          "why --output json: the unhealthy container", out + err)

    # A crash loop that the circuit breaker rolls back.
    wait(lambda: service_tasks(sb, "loop"), "the loop service's task")
    rc, d, _ = aws(sb, "ecs", "describe-services", "--cluster", "e2e", "--services", "loop")
    wait(lambda: aws(sb, "ecs", "describe-services", "--cluster", "e2e", "--services", "loop")[1]
         ["services"][0]["deployments"][0]["rolloutState"] == "COMPLETED",
         "the first deployment to complete")
    rc, _, err = aws(sb, "ecs", "update-service", "--cluster", "e2e", "--service", "loop",
                     "--task-definition", "bad")
    check(rc == 0, "update-service to a task definition that crashes", err)

    def rolled_back():
        s = aws(sb, "ecs", "describe-services", "--cluster", "e2e", "--services", "loop")[1]
        return any("rolling back" in d.get("rolloutStateReason", "")
                   for d in s["services"][0]["deployments"])
    wait(rolled_back, "the circuit breaker to roll back", timeout=90)
    rc, out, err = ecsh.run("why", "-c", "e2e", "-s", "loop")
    flat = " ".join(out.split())  # wrapped at 80 columns
    check(rc == 0 and "rolled back" in flat and "rolling back to deployment" in flat and
          "deployment failed: tasks failed to start" in flat and
          "fatal: cannot reach the database" in flat and "exited with code 3" in flat,
          "why -s: a crash loop with its events, the rollback and the failed task's last lines",
          out + err)
    check(fits(out), "why (crash loop): fits 80 columns", out)
    rc, out, err = ecsh.run("why", "-c", "e2e", "-s", "loop", json_out=True)
    j = json.loads(out) if rc == 0 else {}
    check(j.get("schema") == "ecsh.why.service/1" and
          j.get("rolled_back_to", "").startswith("ecs-svc/") and j.get("events") and
          (j.get("task") or {}).get("containers", [{}])[0].get("exit_code") == 3,
          "why -s --output json: rollback, events and the failed task", out[:600] + err)

    rc, out, err = ecsh.run("why", "-c", "e2e")
    check(rc == 252 and "-s" in err and "counter" in err and len(err.strip().splitlines()) <= 2,
          "why without -s/-t on a cluster of several services: says what to name", (rc, err))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    sb = Sandbox(opts.sandbox, scenario=scenario(), args=["--agent-pacing", "none"]).start()
    try:
        ecsh = Ecsh(os.path.abspath(opts.ecsh), sb)
        test_logs(ecsh, sb)
        test_why(ecsh, sb)
    finally:
        sb.cleanup()
    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
