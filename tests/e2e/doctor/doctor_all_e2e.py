#!/usr/bin/env python3
"""`ecsh doctor --all` (issue #27 item 1): clusters of 41 services with several kinds of
breakage and a standalone task, judged in one pass: one row each, blocked first with the first
blocking check and its fix, exit 1 when one is blocked; JSON with a schema; the reads the targets
share go out once (the calls counted); -c limits it to one cluster; --all refuses -s."""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import Checks, wait  # noqa: E402
from sandbox_proc import Sandbox, aws, run_ecsh  # noqa: E402

SSM = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
       "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
check = Checks()


def scenario():
    def role(name, actions):
        return {"name": name, "policies": [{"name": "p", "document": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}}]}

    def task_def(family, role_name):
        return {"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                "cpu": "256", "memory": "512",
                "taskRoleArn": f"arn:aws:iam::000000000000:role/{role_name}",
                "containerDefinitions": [{"name": "app", "image": "app:1", "essential": True,
                                          "command": ["sleep", "100000"]}]}
    services = []
    kinds = ["ok"] * 25 + ["no-exec"] * 8 + ["no-ssm"] * 5 + ["idle"] * 2
    for i, kind in enumerate(kinds):
        services.append({"cluster": "big", "name": f"svc-{i:02d}-{kind}",
                         "task_definition": "bare" if kind == "no-ssm" else "good",
                         "desired_count": 0 if kind == "idle" else 1, "launch_type": "FARGATE",
                         "platform_version": "1.4.0", "enable_execute_command": kind != "no-exec"})
    services.append({"cluster": "small", "name": "one", "task_definition": "good",
                     "desired_count": 1, "launch_type": "FARGATE", "platform_version": "1.4.0",
                     "enable_execute_command": True})
    return {"roles": [role("good-role", SSM), role("bare-role", ["s3:GetObject"])],
            "clusters": [{"name": "big", "capacity": {"fargate": True}},
                         {"name": "small", "capacity": {"fargate": True}}],
            "task_definitions": [task_def("good", "good-role"), task_def("bare", "bare-role")],
            "services": services}


def ecsh(opts, sb, *args):
    return run_ecsh(opts.ecsh, sb, *args, timeout=300)


def running_tasks(sb, cluster):
    rc, out, _ = aws(sb, "ecs", "list-tasks", "--cluster", cluster)
    return len(out["taskArns"]) if rc == 0 else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    sb = Sandbox(opts.sandbox, scenario(), args=["--agent-pacing", "none"]).start()
    try:
        wait(lambda: running_tasks(sb, "big") >= 38, "38 running tasks", timeout=120)
        wait(lambda: running_tasks(sb, "small") >= 1, "the small cluster's task", timeout=60)
        # A standalone task (no service) in the small cluster.
        rc, _, err = aws(sb, "ecs", "run-task", "--cluster", "small", "--task-definition", "good",
                         "--launch-type", "FARGATE", "--enable-execute-command",
                         "--network-configuration",
                         "awsvpcConfiguration={subnets=[subnet-0ec5a0d0000000001]}")
        check(rc == 0, "a standalone task runs", err[-300:])
        wait(lambda: running_tasks(sb, "small") >= 2, "the standalone task", timeout=60)

        # ECS pages ListServices by 10 unless asked for more; the AWS CLI follows the tokens.
        rc, page, _ = aws(sb, "ecs", "list-services", "--cluster", "big", "--no-paginate")
        rc2, every, _ = aws(sb, "ecs", "list-services", "--cluster", "big")
        check(rc == 0 and len(page["serviceArns"]) == 10 and page.get("nextToken")
              and rc2 == 0 and len(every["serviceArns"]) == 40,
              "ListServices pages by 10 as ECS does; the AWS CLI gets all 40 by its tokens",
              (rc, page and len(page.get("serviceArns", [])), rc2))

        p = ecsh(opts, sb, "--debug", "doctor", "--all")
        rows = [ln for ln in p.stdout.splitlines() if re.match(r"(blocked|unknown|ready)\s", ln)]
        verdicts = [ln.split()[0] for ln in rows]
        check(p.returncode == 1 and len(rows) == 42,
              "one row per service (41) and standalone task (1), exit 1",
              (p.returncode, len(rows), p.stdout[-1500:], p.stderr[-300:]))
        check(verdicts == sorted(verdicts, key=["blocked", "unknown", "ready"].index),
              "blocked rows first", verdicts)
        no_exec = [ln for ln in rows if "-no-exec" in ln]
        no_ssm = [ln for ln in rows if "-no-ssm" in ln]
        check(len(no_exec) == 8 and all(ln.startswith("blocked") and "enableExecuteCommand" in ln
                                        and "ecsh enable -c big -s svc-" in ln for ln in no_exec),
              "exec not enabled: blocked, with the check and the enable fix", no_exec[:2])
        check(len(no_ssm) == 5 and all(ln.startswith("blocked") and "ssmmessages" in ln
                                       for ln in no_ssm),
              "a role without ssmmessages: blocked, says so", no_ssm[:2])
        idle = [ln for ln in rows if "-idle" in ln]
        check(len(idle) == 2 and all(ln.startswith("blocked") and "running tasks" in ln
                                     for ln in idle),
              "a service with no task running: blocked, says so", idle)
        ok = [ln for ln in rows if ln.split()[2].endswith("-ok") or ln.split()[2] in ("one", "task")]
        check(len(ok) == 27 and all(ln.startswith("ready") for ln in ok),
              "the others are ready (the standalone task too)",
              [ln for ln in ok if not ln.startswith("ready")][:3])
        m = re.search(r"doctor --all: (\d+) calls sent, (\d+) answered", p.stderr)
        sent = int(m.group(1)) if m else 10**6
        check(m is not None and sent <= 2 * 42 and int(m.group(2)) > 100,
              f"shared reads go out once: {sent} calls for 42 targets "
              f"({m.group(2) if m else '?'} answered from shared reads)", p.stderr[-300:])

        p = ecsh(opts, sb, "--output", "json", "doctor", "--all", "-c", "small")
        doc = json.loads(p.stdout) if p.stdout.strip() else {}
        svcs = doc.get("services", [])
        check(p.returncode == 0 and doc.get("schema") == "ecsh.doctor.all/1" and len(svcs) == 2
              and all(s["verdict"] == "ready" and s["cluster"] == "small" for s in svcs)
              and sorted(s["service"] for s in svcs) == ["", "one"],
              "-c: one cluster, JSON with a schema, the standalone task as a row, exit 0",
              (p.returncode, p.stdout[-600:], p.stderr[-300:]))
        p = ecsh(opts, sb, "--output", "json", "doctor", "--all", "-c", "big")
        doc = json.loads(p.stdout) if p.stdout.strip() else {}
        blocked = [s for s in doc.get("services", []) if s["verdict"] == "blocked"]
        check(p.returncode == 1 and len(blocked) == 15
              and all(s["blocking"] and s["blocking"][0]["fix"] for s in blocked),
              "JSON: the blocked services with their checks and fixes",
              (p.returncode, len(blocked)))
        p = ecsh(opts, sb, "doctor", "--all", "-s", "one")
        check(p.returncode == 252 and "--all" in p.stderr, "--all with -s is a usage error",
              (p.returncode, p.stderr))
    finally:
        sb.cleanup()
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
