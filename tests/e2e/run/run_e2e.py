#!/usr/bin/env python3
"""`ecsh run` end to end against ecsh-sandbox (process runtime): one command on a 20-task service
whose exit code depends on the task (one exits 3): 20 prefixed outputs, stdout and stderr apart,
whole lines only, the summary table and the JSON right, exit status 1; --group; tasks that
cannot be reached (exec disabled at launch, a task role without ssmmessages) reported with
doctor's reason, not fatal; a stuck task held to --timeout while the others finish; and 50% API
throttling survived with every task's result right."""
import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks  # noqa: E402
from sandbox_proc import Sandbox, aws, aws_env  # noqa: E402

SSM_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
               "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
WEB_TASKS = 20


def scenario():
    def role(name, actions):
        return {"name": name, "policies": [{"name": "p", "document": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}}]}

    def task_def(family, role_name):
        return {"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                "cpu": "256", "memory": "512",
                "taskRoleArn": f"arn:aws:iam::000000000000:role/{role_name}",
                "containerDefinitions": [{"name": "app", "image": "app:latest", "essential": True,
                                          "command": ["sleep", "100000"]}]}

    def service(name, family, count, exec_on):
        return {"cluster": "fleet", "name": name, "task_definition": family,
                "desired_count": count, "launch_type": "FARGATE", "platform_version": "1.4.0",
                "enable_execute_command": exec_on}

    return {
        "roles": [role("web-role", SSM_ACTIONS), role("bare-role", ["s3:GetObject"])],
        "clusters": [{"name": "fleet", "capacity": {"fargate": True}}],
        "task_definitions": [task_def("web", "web-role"), task_def("bare", "bare-role")],
        "services": [service("web", "web", WEB_TASKS, True),
                     service("legacy", "web", 1, False),
                     service("norole", "bare", 1, True)],
    }


check = Checks()


def wait_for_tasks(sb, want, timeout=120):
    """{service name: [RUNNING task]} once every service has its count running (bounded)."""
    end = time.monotonic() + timeout
    by_service = {}
    while time.monotonic() < end:
        rc, out, _ = aws(sb, "ecs", "list-tasks", "--cluster", "fleet")
        arns = out["taskArns"] if rc == 0 else []
        by_service = {}
        for i in range(0, len(arns), 100):
            rc, d, _ = aws(sb, "ecs", "describe-tasks", "--cluster", "fleet", "--tasks",
                           *arns[i:i + 100])
            for t in d.get("tasks", []) if rc == 0 else []:
                agents = [a for c in t["containers"] for a in c.get("managedAgents", [])]
                ready = t["lastStatus"] == "RUNNING" and all(
                    a["lastStatus"] == "RUNNING" for a in agents)
                if ready:
                    by_service.setdefault(t.get("group", "").split(":", 1)[-1], []).append(t)
        if all(len(by_service.get(s, [])) >= n for s, n in want.items()):
            return by_service
        time.sleep(0.3)
    raise AssertionError(f"services never reached {want}: "
                         f"{ {s: len(v) for s, v in by_service.items()} }")


class Ecsh:
    def __init__(self, binary, sandbox):
        self.binary = binary
        self.sandbox = sandbox

    def run(self, *args, env_extra=None, timeout=300):
        env = aws_env()
        env["NO_PROXY"] = "127.0.0.1"
        env.pop("AWS_MAX_ATTEMPTS", None)  # ecsh's defaults, as a user has them
        env.update(env_extra or {})
        cmd = [self.binary, "--endpoint-url", self.sandbox.url] + list(args)
        t0 = time.monotonic()
        p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
        p.wall = time.monotonic() - t0
        return p


LINE = re.compile(r"^([0-9a-f]{6,32})/app \| (.*)$")


def prefixed(text):
    """[(short id, rest)] of the prefixed lines; None when a line is not prefixed."""
    out = []
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            return None
        out.append((m.group(1), m.group(2)))
    return out


def output_part(stdout):
    """The prefixed output before the summary table (which follows an empty line)."""
    return stdout.split("\n\n", 1)[0] + "\n" if "\n\n" in stdout else stdout


def table_rows(stdout):
    """{short id: row words} from the summary table."""
    rows = {}
    if "\n\n" not in stdout:
        return rows
    for line in stdout.split("\n\n", 1)[1].splitlines()[1:]:
        parts = line.split()
        if parts and re.fullmatch(r"[0-9a-f]{6,32}", parts[0]):
            rows[parts[0]] = line
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()

    sb = Sandbox(opts.sandbox, scenario=scenario()).start()
    try:
        tasks = wait_for_tasks(sb, {"web": WEB_TASKS, "legacy": 1, "norole": 1})
        web_ids = sorted(t["taskArn"].rsplit("/", 1)[1] for t in tasks["web"])
        victim = web_ids[7]
        legacy_id = tasks["legacy"][0]["taskArn"].rsplit("/", 1)[1]
        norole_id = tasks["norole"][0]["taskArn"].rsplit("/", 1)[1]
        e = Ecsh(opts.ecsh, sb)
        script = ('echo "out $ECSH_SANDBOX_TASK_ID"; echo "err $ECSH_SANDBOX_TASK_ID" >&2; '
                  f'[ "$ECSH_SANDBOX_TASK_ID" != {victim} ] || exit 3')
        cmd = ["--", "sh", "-c", script]

        def owner(short):
            full = [i for i in web_ids + [legacy_id, norole_id] if i.startswith(short)]
            return full[0] if len(full) == 1 else None

        # 1. The 20-task service, text output.
        p = e.run("run", "-c", "fleet", "-s", "web", *cmd)
        out, err = p.stdout.decode(), p.stderr.decode()
        check(p.returncode == 1, "one task exits 3: ecsh run exits 1", (p.returncode, err[-500:]))
        lines = prefixed(output_part(out))
        check(lines is not None and len(lines) == WEB_TASKS and
              all(rest == f"out {owner(s)}" for s, rest in lines) and
              sorted(owner(s) for s, _ in lines) == web_ids,
              "20 stdout lines, each prefixed with its own task's short ID and container",
              output_part(out)[:800])
        err_lines = prefixed(err)
        check(err_lines is not None and len(err_lines) == WEB_TASKS and
              all(rest == f"err {owner(s)}" for s, rest in err_lines),
              "20 stderr lines on stderr, prefixed, apart from stdout", err[:800])
        rows = table_rows(out)
        victim_row = next((r for s, r in rows.items() if victim.startswith(s)), "")
        check(len(rows) == WEB_TASKS and re.search(r"\bapp\s+3\s", victim_row) and
              sum(1 for r in rows.values() if re.search(r"\bapp\s+0\s", r)) == WEB_TASKS - 1,
              "the table: 19 tasks exited 0, the one that exited 3 says so", out[-2500:])
        check("20 tasks: 19 exited 0, 1 exited non-zero, 0 failed or not reached" in out,
              "the summary line counts them", out[-300:])

        # 2. JSON: one object per task.
        p = e.run("--output", "json", "run", "-c", "fleet", "-s", "web", *cmd)
        doc = json.loads(p.stdout) if p.stdout.strip() else {}
        by_task = {t["task"]: t for t in doc.get("tasks", [])}
        check(p.returncode == 1 and doc.get("schema") == "ecsh.run/1" and
              sorted(by_task) == web_ids and all(
            t["exit_code"] == (3 if i == victim else 0) and t["stdout"] == f"out {i}\n" and
            t["stderr"] == f"err {i}\n" and t["error"] is None and t["duration_seconds"] > 0
            for i, t in by_task.items()),
            "--output json: exit code, stdout and stderr of each of the 20 tasks",
            p.stdout[:800] + p.stderr[-300:])
        check(doc.get("summary", {}).get("exit_status") == 1 and
              doc.get("summary", {}).get("exited_nonzero") == 1, "--output json: the summary",
              doc.get("summary"))

        # 3. All exit 0: exit status 0. Binary output comes back base64 in JSON.
        p = e.run("--output", "json", "run", "-c", "fleet", "-s", "web", "--", "printf",
                  "\\377\\376ok")
        doc = json.loads(p.stdout) if p.stdout.strip() else {}
        check(p.returncode == 0 and len(doc.get("tasks", [])) == WEB_TASKS and all(
            t["stdout_encoding"] == "base64" and
            base64.b64decode(t["stdout"]) == b"\xff\xfeok" for t in doc["tasks"]),
            "every task exits 0: exit status 0; output that is not UTF-8 is base64",
            (p.returncode, p.stdout[:300], p.stderr[-300:]))

        # 4. Lines written in pieces are never cut: each arrives whole with its prefix.
        p = e.run("run", "-c", "fleet", "-s", "web", "--", "sh", "-c",
                  "printf 'left-'; sleep 0.2; printf 'right\\n'; printf 'no-newline'")
        lines = prefixed(output_part(p.stdout.decode()))
        check(p.returncode == 0 and lines is not None and len(lines) == 2 * WEB_TASKS and
              sorted(set(rest for _, rest in lines)) == ["left-right", "no-newline"],
              "a line printed in two pieces is one prefixed line; a last line without newline "
              "is ended", p.stdout.decode()[:800])

        # 5. --group: each task's lines together.
        p = e.run("run", "-c", "fleet", "-s", "web", "--group", "--", "sh", "-c",
                  "echo one; sleep 0.3; echo two")
        lines = prefixed(output_part(p.stdout.decode()))
        together = lines is not None and len(lines) == 2 * WEB_TASKS and all(
            lines[k][0] == lines[k + 1][0] and lines[k][1] == "one" and lines[k + 1][1] == "two"
            for k in range(0, len(lines), 2))
        check(p.returncode == 0 and together, "--group: each task's output all together",
              p.stdout.decode()[:800])

        # 6. The whole cluster: tasks that cannot be reached are reported, not fatal.
        p = e.run("run", "-c", "fleet", "--", "sh", "-c", "echo hi")
        out = p.stdout.decode()
        rows = table_rows(out)
        legacy_row = next((r for s, r in rows.items() if legacy_id.startswith(s)), "")
        norole_row = next((r for s, r in rows.items() if norole_id.startswith(s)), "")
        check(p.returncode == 1 and len(rows) == WEB_TASKS + 2 and
              sum(1 for r in rows.values() if re.search(r"\bapp\s+0\s", r)) == WEB_TASKS,
              "the whole cluster: 22 tasks, the 20 reachable ones run, exit status 1",
              (p.returncode, out[-3000:], p.stderr.decode()[-500:]))
        check("exec disabled at launch" in legacy_row and "ecsh enable" in legacy_row,
              "a task started without exec: reported with the reason and the fix", legacy_row)
        check("ssmmessages" in norole_row and "doctor" in norole_row,
              "a task whose role lacks ssmmessages: doctor's reason", norole_row)
        p = e.run("--output", "json", "run", "-c", "fleet", "-s", "legacy", "--", "true")
        doc = json.loads(p.stdout) if p.stdout.strip() else {}
        t = (doc.get("tasks") or [{}])[0]
        check(p.returncode == 1 and t.get("exit_code") is None and
              "exec disabled at launch" in (t.get("error") or {}).get("message", ""),
              "--output json: the unreachable task's error", p.stdout[:500])

        # 7. A stuck task is held to --timeout; the others finish meanwhile.
        p = e.run("--output", "json", "run", "-c", "fleet", "-s", "web", "--timeout", "2", "--",
                  "sh", "-c", f'[ "$ECSH_SANDBOX_TASK_ID" != {victim} ] || sleep 60; echo done')
        doc = json.loads(p.stdout) if p.stdout.strip() else {}
        by_task = {t["task"]: t for t in doc.get("tasks", [])}
        check(p.returncode == 1 and p.wall < 20 and by_task.get(victim, {}).get("exit_code") is None
              and "timed out" in (by_task.get(victim, {}).get("error") or {}).get("message", "")
              and all(t["exit_code"] == 0 and t["stdout"] == "done\n"
                      for i, t in by_task.items() if i != victim),
              f"--timeout 2: the stuck task times out, the 19 others finish ({p.wall:.1f} s)",
              (p.returncode, p.stdout[:600], p.stderr[-300:]))

        # 8. Usage errors: clear, and 252.
        p = e.run("run", "-c", "fleet", "-s", "web")
        check(p.returncode == 252 and b"after --" in p.stderr, "no command: 252 and what to do",
              p.stderr)
        p = e.run("run", "-c", "fleet", "-s", "nosuch", "--", "true")
        check(p.returncode == 252 and b"nosuch" in p.stderr, "an unknown service: 252", p.stderr)

        # 9. 50% of API calls throttled: slower, and every task's result right.
        sb.admin("/_sandbox/faults", {"api": {"throttle_rate": 0.5, "seed": 11}})
        p = e.run("--output", "json", "run", "-c", "fleet", "-s", "web", *cmd, timeout=600)
        sb.admin("/_sandbox/faults", {})
        doc = json.loads(p.stdout) if p.stdout.strip() else {}
        by_task = {t["task"]: t for t in doc.get("tasks", [])}
        check(p.returncode == 1 and doc.get("schema") == "ecsh.run/1" and
              sorted(by_task) == web_ids and all(
            t["exit_code"] == (3 if i == victim else 0) and t["stdout"] == f"out {i}\n" and
            t["stderr"] == f"err {i}\n" for i, t in by_task.items()),
            f"50% API throttling: every task's result right ({p.wall:.1f} s)",
            (p.returncode, p.stdout[:1200], p.stderr[-600:]))
    finally:
        sb.cleanup()
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
