#!/usr/bin/env python3
"""`ecsh doctor` and `ecsh enable` end to end: each cause that blocks ECS Exec in isolation (one
sandbox cluster per cause), doctor's verdict and exit code for each, and for the fixable ones
that `ecsh enable` fixes them and `ecsh exec` then works.

The sandbox runs in its default, AWS-faithful mode: an exec agent that cannot connect shows
RUNNING with no reason and ExecuteCommand answers TargetNotConnectedException, so every verdict
here comes from doctor's own checks, never from a hint of the sandbox."""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks, wait  # noqa: E402
from sandbox_proc import Sandbox, aws, aws_env  # noqa: E402

SSM = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
       "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
KEY_ID = "0b5e7c1a-0000-4000-8000-00000000d0c7"
KEY_ARN = f"arn:aws:kms:us-east-1:000000000000:key/{KEY_ID}"
DEFAULT_SUBNET = "subnet-0ec5a0d0000000001"
DEFAULT_VPC = "vpc-0ec5a0d0000000001"
DOCTOR_READS = ["ecs:List*", "ecs:Describe*", "iam:SimulatePrincipalPolicy", "iam:GetRole",
                "iam:GetInstanceProfile", "ec2:Describe*", "kms:DescribeKey",
                "logs:DescribeLogGroups", "sts:GetCallerIdentity", "iam:GetAccessKeyLastUsed"]
CI_KEY = ("AKIAECSHDOCTORCIKEY1", "ci-secret")          # a user without ssmmessages
CI_SSM_KEY = ("AKIAECSHDOCTORCISSM1", "ci-ssm-secret")  # a user with them
UNKNOWN_KEY = ("AKIAECSHDOCTORNOSUCH", "no-such-secret")
SECRET_ARN = "arn:aws:ssm:us-east-1:000000000000:parameter/ci/aws-access-key-id"
NAT_SUBNET = "subnet-0ec5a0d0000a7001"
GUARDDUTY = "aws-guardduty-agent-Ab12Cd"


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions, resource="*"):
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def task_def(family, role, read_only=False, keys=None, secret_keys=False):
    container = {"name": "app", "image": "app:latest", "essential": True,
                 "readonlyRootFilesystem": read_only, "command": ["sleep", "100000"]}
    if keys:
        container["environment"] = [{"name": "AWS_ACCESS_KEY_ID", "value": keys[0]},
                                    {"name": "AWS_SECRET_ACCESS_KEY", "value": keys[1]}]
    if secret_keys:
        container["secrets"] = [{"name": "AWS_ACCESS_KEY_ID", "valueFrom": SECRET_ARN},
                                {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": SECRET_ARN + "-s"}]
    d = {"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
         "cpu": "256", "memory": "512", "containerDefinitions": [container]}
    return with_role(d, role)


def with_role(d, role):
    if role:
        d["taskRoleArn"] = f"arn:aws:iam::000000000000:role/{role}"
    return d


def two_containers(family, second, pid_mode=None):
    """app plus a second container: a GuardDuty sidecar (which AWS gives no exec agent) or
    another app container."""
    d = task_def(family, "good-role")
    d["containerDefinitions"].append({"name": second["name"], "image": second["image"],
                                      "essential": False, "command": ["sleep", "100000"]})
    if pid_mode:
        d["pidMode"] = pid_mode
    return d


def service(cluster, family, exec_on=True, **extra):
    s = {"cluster": cluster, "name": "app", "task_definition": family, "desired_count": 1,
         "launch_type": "FARGATE", "platform_version": "1.4.0", "enable_execute_command": exec_on}
    s.update(extra)
    return s


def scenario():
    return {
        "users": [
            {"name": "dev", "access_key_id": "AKIAECSHDOCTORDEV001", "secret_access_key": "dev-secret",
             "policies": [policy(allow(DOCTOR_READS + ["ecs:ExecuteCommand", "kms:GenerateDataKey",
                                                       "ssm:ResumeSession", "ssm:TerminateSession",
                                                       "ecs:UpdateService", "iam:PutRolePolicy"]))]},
            {"name": "no-exec", "access_key_id": "AKIAECSHDOCTORNOEXEC", "secret_access_key": "no-exec-secret",
             "policies": [policy(allow(DOCTOR_READS))]},
            {"name": "denied", "access_key_id": "AKIAECSHDOCTORDENIED", "secret_access_key": "denied-secret",
             "policies": [policy(allow("*"), {"Effect": "Deny", "Action": "ecs:ExecuteCommand",
                                              "Resource": "*"})]},
            {"name": "ci", "access_key_id": CI_KEY[0], "secret_access_key": CI_KEY[1],
             "policies": [policy(allow(["s3:PutObject"]))]},
            {"name": "ci-ssm", "access_key_id": CI_SSM_KEY[0], "secret_access_key": CI_SSM_KEY[1],
             "policies": [policy(allow(SSM))]},
        ],
        "secret_values": {SECRET_ARN: CI_KEY[0], SECRET_ARN + "-s": CI_KEY[1]},
        "roles": [
            {"name": "good-role", "policies": [policy(allow(SSM), allow("kms:Decrypt"))]},
            {"name": "no-ssm-role", "policies": [policy(allow(["s3:GetObject"]))]},
            {"name": "no-kms-role", "policies": [policy(allow(SSM))]},
        ],
        "kms_keys": [{"id": KEY_ID, "region": "us-east-1"}],
        "log_groups": ["/ecs/exec-audit"],
        "network": {
            "vpcs": [{"id": DEFAULT_VPC}, {"id": "vpc-0150la7ed00000001"}],
            "subnets": [{"id": DEFAULT_SUBNET, "vpc_id": DEFAULT_VPC, "route_to_internet": True},
                        {"id": "subnet-0150la7ed00000001", "vpc_id": "vpc-0150la7ed00000001",
                         "route_to_internet": False},
                        {"id": NAT_SUBNET, "vpc_id": "vpc-0150la7ed00000001",
                         "route_to_internet": False, "nat": True}],
            "vpc_endpoints": []},
        "clusters": [
            {"name": "ok", "capacity": {"fargate": True}},
            {"name": "role", "capacity": {"fargate": True}},
            {"name": "disabled", "capacity": {"fargate": True}},
            {"name": "redeploy", "capacity": {"fargate": True}},
            {"name": "platform", "capacity": {"fargate": True}},
            {"name": "network", "capacity": {"fargate": True}},
            {"name": "kms", "capacity": {"fargate": True},
             "execute_command_configuration": {"kmsKeyId": KEY_ARN, "logging": "NONE"}},
            {"name": "rofs", "capacity": {"fargate": True},
             "execute_command_configuration": {"logging": "OVERRIDE", "logConfiguration": {
                 "cloudWatchLogGroupName": "/ecs/exec-audit"}}},
            {"name": "norole", "capacity": {"fargate": True}},
            {"name": "envkeys", "capacity": {"fargate": True}},
            {"name": "envkeys-ok", "capacity": {"fargate": True}},
            {"name": "envkeys-unknown", "capacity": {"fargate": True}},
            {"name": "envkeys-secret", "capacity": {"fargate": True}},
            {"name": "override", "capacity": {"fargate": True}},
            {"name": "nat", "capacity": {"fargate": True}},
            {"name": "sidecar", "capacity": {"fargate": True}},
            {"name": "pidtask", "capacity": {"fargate": True}},
            {"name": "ami", "container_instances": [
                {"instance_id": "i-0ec5a0ld0000a9e02", "agent_version": "1.80.0",
                 "exec_binaries": False,
                 "instance_role_arn": "arn:aws:iam::000000000000:role/good-role",
                 "subnet_id": DEFAULT_SUBNET}]},
            {"name": "agent", "container_instances": [
                {"instance_id": "i-0ec5a0ld0000a9e01", "agent_version": "1.49.0",
                 "instance_role_arn": "arn:aws:iam::000000000000:role/good-role",
                 "subnet_id": DEFAULT_SUBNET}]},
        ],
        "task_definitions": [task_def("good", "good-role"), task_def("no-ssm", "no-ssm-role"),
                             task_def("no-kms", "no-kms-role"),
                             task_def("rofs", "good-role", read_only=True),
                             task_def("norole", None),
                             task_def("envkeys", "good-role", keys=CI_KEY),
                             task_def("envkeys-ok", "good-role", keys=CI_SSM_KEY),
                             task_def("envkeys-unknown", "good-role", keys=UNKNOWN_KEY),
                             task_def("envkeys-secret", "good-role", secret_keys=True),
                             two_containers("sidecar", {"name": GUARDDUTY, "image":
                                            "public.ecr.aws/guardduty/aws-guardduty-agent:v1"}),
                             two_containers("pidtask", {"name": "worker", "image": "app:latest"},
                                            pid_mode="task"),
                             {"family": "ec2", "networkMode": "bridge",
                              "containerDefinitions": [{"name": "app", "image": "app:latest",
                                                        "command": ["sleep", "100000"]}]}],
        "services": [
            service("ok", "good"),
            service("role", "no-ssm"),
            service("disabled", "good", exec_on=False),
            service("redeploy", "good", exec_on=False),
            service("platform", "good", platform_version="1.3.0"),
            service("network", "good", subnet_ids=["subnet-0150la7ed00000001"]),
            service("kms", "no-kms"),
            service("rofs", "rofs"),
            service("norole", "norole"),
            service("envkeys", "envkeys"),
            service("envkeys-ok", "envkeys-ok"),
            service("envkeys-unknown", "envkeys-unknown"),
            service("envkeys-secret", "envkeys-secret"),
            service("nat", "good", subnet_ids=[NAT_SUBNET]),
            service("sidecar", "sidecar"),
            service("pidtask", "pidtask"),
            {"cluster": "ami", "name": "app", "task_definition": "ec2", "desired_count": 1,
             "launch_type": "EC2", "enable_execute_command": True},
            {"cluster": "agent", "name": "app", "task_definition": "ec2", "desired_count": 1,
             "launch_type": "EC2", "enable_execute_command": True},
        ],
    }


check = Checks()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    sb = Sandbox(opts.sandbox, scenario=scenario(), args=["--agent-pacing", "none"]).start()

    def ecsh(*args, key=("AKIAECSHDOCTORDEV001", "dev-secret"), timeout=120):
        env = aws_env(*key)
        env["NO_PROXY"] = "127.0.0.1"
        return subprocess.run([opts.ecsh, "--endpoint-url", sb.url] + list(args), env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)

    def doctor(cluster, key=("AKIAECSHDOCTORDEV001", "dev-secret"), extra=()):
        p = ecsh("doctor", "-c", cluster, *extra, "--output", "json", key=key)
        try:
            report = json.loads(p.stdout)
        except ValueError:
            report = {"checks": [], "raw": p.stdout + p.stderr}
        fails = {c["id"]: c for c in report["checks"] if c["status"] == "fail"}
        return p.returncode, fails, report

    def wait_running(cluster):
        end = time.monotonic() + 30
        while time.monotonic() < end:
            rc, out, _ = aws(sb, "ecs", "describe-services", "--cluster", cluster, "--services", "app")
            if rc == 0 and out["services"] and out["services"][0]["runningCount"] >= 1:
                return
            time.sleep(0.1)
        raise AssertionError(f"service app in {cluster} never ran")

    def wait_task_status(cluster, task, status):
        def reached():
            _, d, _ = aws(sb, "ecs", "describe-tasks", "--cluster", cluster, "--tasks", task)
            return d and d["tasks"] and d["tasks"][0]["lastStatus"] == status
        wait(reached, f"task {task} to be {status}", timeout=10)

    try:
        for c in ["ok", "role", "disabled", "redeploy", "platform", "network", "kms", "rofs",
                  "agent", "norole", "envkeys", "envkeys-ok", "envkeys-unknown", "envkeys-secret",
                  "nat", "sidecar", "pidtask", "ami"]:
            wait_running(c)

        rc, fails, report = doctor("ok")
        check(rc == 0 and not fails and report.get("exec_ready") is True,
              "a healthy service: exit 0, no failed check", (rc, list(fails), report.get("raw")))

        cases = [
            ("caller without ecs:ExecuteCommand", "ok", ("AKIAECSHDOCTORNOEXEC", "no-exec-secret"),
             "caller.execute_command", False),
            ("caller with an explicit deny", "ok", ("AKIAECSHDOCTORDENIED", "denied-secret"),
             "caller.execute_command", False),
            ("task role without ssmmessages", "role", None, "task.role_ssmmessages", True),
            ("exec disabled on the service", "disabled", None, "service.exec_enabled", True),
            ("Fargate platform too old", "platform", None, "task.platform_version", False),
            ("no route to ssmmessages", "network", None, "network.ssmmessages", False),
            ("KMS key without kms:Decrypt for the role", "kms", None, "task.role_kms_decrypt", True),
            ("read-only root filesystem with session logging", "rofs", None,
             "container.read_only_root", False),
            ("ECS agent too old", "agent", None, "task.agent_version", False),
            ("a recent ECS agent without the ECS Exec binaries (custom AMI)", "ami", None,
             "task.instance_exec_capability", False),
            ("no task role, so the agent has no credentials", "norole", None, "task.role", False),
        ]
        for title, cluster, key, check_id, fixable in cases:
            rc, fails, report = doctor(cluster, key=key or ("AKIAECSHDOCTORDEV001", "dev-secret"))
            check(rc == 1 and check_id in fails and fails[check_id]["fixable_by_enable"] == fixable
                  and fails[check_id]["fix"],
                  f"doctor finds: {title} ({check_id}, exit 1)", (rc, list(fails), report.get("raw")))
        rc, fails, _ = doctor("ok", key=("AKIAECSHDOCTORDENIED", "denied-secret"))
        check("explicit" in fails.get("caller.execute_command", {}).get("detail", "").lower(),
              "an explicit deny is named as such", fails)

        # AWS keys in the container's environment: the SSM agent of ECS Exec ignores them and
        # uses the task role (agent 3.1.1260.0 and later; checked against the real agent), so
        # they are named but never block exec, whoever owns them (the checker still warns).
        for cluster, title in (("envkeys", "a user without ssmmessages"),
                               ("envkeys-unknown", "a key the account does not know"),
                               ("envkeys-secret", "keys from secrets")):
            rc, fails, report = doctor(cluster)
            env = [c for c in report["checks"] if c["id"] == "container.credential_env"]
            check(rc == 0 and not fails and env and env[0]["status"] == "info" and
                  "AWS_ACCESS_KEY_ID" in env[0]["detail"] and
                  "ignores them" in env[0]["detail"] and CI_KEY[1] not in json.dumps(report),
                  f"doctor: keys in the environment ({title}) are named, not a failure",
                  (rc, list(fails), env))
            p = ecsh("exec", "-c", cluster, "-s", "app", "--", "sh", "-c", "echo inside")
            check(p.returncode == 0 and p.stdout == "inside\n",
                  f"exec works with keys in the environment ({title}): the task role is used",
                  (p.returncode, p.stdout, p.stderr))
        p = ecsh("--debug", "doctor", "-c", "envkeys")
        check(p.returncode == 0 and "DescribeTaskDefinition" in p.stderr + p.stdout and
              CI_KEY[1] not in p.stderr + p.stdout,
              "doctor --debug never prints the secret key found in the environment",
              (p.returncode, p.stderr[-300:]))

        # The sandbox is as opaque as AWS: the agent of a task whose role cannot use ssmmessages
        # (or decrypt with the exec key) shows RUNNING without a reason, and exec fails with
        # TargetNotConnectedException.
        for cluster in ["role", "kms", "norole"]:
            _, arns, _ = aws(sb, "ecs", "list-tasks", "--cluster", cluster)
            _, d, _ = aws(sb, "ecs", "describe-tasks", "--cluster", cluster, "--tasks",
                          *arns["taskArns"])
            agent = d["tasks"][0]["containers"][0]["managedAgents"][0]
            check(agent["lastStatus"] == "RUNNING" and "reason" not in agent,
                  f"{cluster}: the exec agent shows RUNNING with no reason, as on AWS", agent)
            p = ecsh("exec", "-c", cluster, "-s", "app", "--", "true")
            check(p.returncode == 254 and "TargetNotConnectedException" in p.stderr and
                  "internal error" in p.stderr,
                  f"{cluster}: exec fails with AWS's opaque TargetNotConnectedException", p.stderr)
            # ... and explains itself: doctor's blocking finding and its fix follow AWS's words.
            finding = {"role": "task role allows ssmmessages",
                       "kms": "kms:Decrypt", "norole": "task role"}[cluster]
            lines = p.stderr.splitlines()
            check(len(lines) >= 3 and lines[0].startswith("ecsh: An error occurred") and
                  lines[1].startswith("doctor: ✗ ") and finding in p.stderr and
                  "  fix: " in p.stderr,
                  f"{cluster}: the failed exec prints doctor's finding and its fix", p.stderr)
        p = ecsh("--no-diagnose", "exec", "-c", "role", "-s", "app", "--", "true")
        check(p.returncode == 254 and "TargetNotConnectedException" in p.stderr and
              "doctor:" not in p.stderr, "--no-diagnose: AWS's words alone", p.stderr)

        # A task role override at RunTask is the role the agent uses, either way round.
        for title, family, role, works in [
                ("an override without ssmmessages on a good task definition", "good",
                 "no-ssm-role", False),
                ("an override that allows ssmmessages on a bad task definition", "no-ssm",
                 "good-role", True)]:
            _, run, err = aws(sb, "ecs", "run-task", "--cluster", "override", "--task-definition",
                              family, "--enable-execute-command", "--launch-type", "FARGATE",
                              "--network-configuration",
                              f"awsvpcConfiguration={{subnets=[{DEFAULT_SUBNET}]}}",
                              "--overrides", json.dumps(
                                  {"taskRoleArn": f"arn:aws:iam::000000000000:role/{role}"}))
            task = run["tasks"][0]["taskArn"] if run else ""
            wait_task_status("override", task, "RUNNING")
            rc, fails, report = doctor("override", extra=("-t", task))
            role_check = [c for c in report["checks"] if c["id"] == "task.role_ssmmessages"]
            p = ecsh("exec", "-c", "override", "-t", task, "--", "true")
            if works:
                check(rc == 0 and not fails and role_check and "overridden" in
                      role_check[0]["title"] and p.returncode == 0,
                      f"doctor and exec: {title} works", (rc, list(fails), p.stderr, err))
            else:
                check(rc == 1 and list(fails) == ["task.role_ssmmessages"] and
                      "overridden" in fails["task.role_ssmmessages"]["title"] and
                      role in fails["task.role_ssmmessages"]["detail"] and
                      p.returncode == 254 and "TargetNotConnectedException" in p.stderr,
                      f"doctor names {title} (the overridden role, exit 1); exec fails as on AWS",
                      (rc, list(fails), p.stderr, err))

        # A subnet whose only way out is a NAT gateway reaches ssmmessages.
        rc, fails, report = doctor("nat")
        net = [c for c in report["checks"] if c["id"] == "network.ssmmessages"]
        p = ecsh("exec", "-c", "nat", "-s", "app", "--", "sh", "-c", "echo via-nat")
        check(rc == 0 and not fails and net and net[0]["status"] == "ok" and
              NAT_SUBNET in net[0]["detail"] and p.returncode == 0 and p.stdout == "via-nat\n",
              "a NAT-only subnet: doctor green, exec works", (rc, list(fails), net, p.stderr))

        # A GuardDuty sidecar has no exec agent: not a failure; exec picks the app container,
        # and into the sidecar AWS answers InvalidParameterException.
        rc, fails, report = doctor("sidecar")
        guard = [c for c in report["checks"] if c["group"] == "container:" + GUARDDUTY and
                 c["id"] == "container.exec_agent"]
        check(rc == 0 and not fails and guard and guard[0]["status"] == "info",
              "a GuardDuty sidecar without an exec agent: doctor green, the sidecar named",
              (rc, list(fails), guard))
        p = ecsh("exec", "-c", "sidecar", "-s", "app", "--", "true")
        check(p.returncode == 0, "exec without -n picks the app container, not the sidecar",
              p.stderr)
        p = ecsh("exec", "-c", "sidecar", "-s", "app", "-n", GUARDDUTY, "--", "true")
        check(p.returncode == 254 and "InvalidParameterException" in p.stderr,
              "exec into the GuardDuty sidecar: AWS's InvalidParameterException", p.stderr)

        # pidMode task: one agent for the task's PID namespace; only one container answers.
        rc, fails, report = doctor("pidtask")
        pid = [c for c in report["checks"] if c["id"] == "task.pid_mode"]
        check(rc == 0 and not fails and pid and pid[0]["status"] == "unknown" and
              "-n NAME" in pid[0]["fix"],
              "pidMode task with two containers: doctor says it cannot tell which one answers",
              (rc, list(fails), pid))
        p = ecsh("exec", "-c", "pidtask", "-s", "app", "-n", "app", "--", "true")
        q = ecsh("exec", "-c", "pidtask", "-s", "app", "-n", "worker", "--", "true")
        check(p.returncode == 0 and q.returncode == 254 and
              "TargetNotConnectedException" in q.stderr,
              "pidMode task: exec works into one container, the other fails as on AWS",
              (p.returncode, p.stderr, q.returncode, q.stderr))

        # Enabled on the service but the running task predates it: redeploy needed.
        rc, _, err = aws(sb, "ecs", "update-service", "--cluster", "redeploy", "--service", "app",
                         "--enable-execute-command")
        rc, fails, _ = doctor("redeploy")
        check(rc == 1 and "service.redeploy_needed" in fails and
              "redeploy needed" in fails["service.redeploy_needed"]["detail"] and
              "service.exec_enabled" not in fails,
              "doctor finds: enabled on the service but tasks not redeployed", list(fails))

        # A stopped task.
        rc, run, _ = aws(sb, "ecs", "run-task", "--cluster", "ok", "--task-definition", "good",
                         "--enable-execute-command", "--network-configuration",
                         f"awsvpcConfiguration={{subnets=[{DEFAULT_SUBNET}]}}")
        task_arn = run["tasks"][0]["taskArn"]
        time.sleep(0.3)
        aws(sb, "ecs", "stop-task", "--cluster", "ok", "--task", task_arn)
        wait_task_status("ok", task_arn, "STOPPED")
        rc, fails, report = doctor("ok", extra=("-t", task_arn))
        check(rc == 1 and "task.status" in fails and "STOPPED" in fails["task.status"]["detail"],
              "doctor finds: the task stopped (with its reason)", (rc, list(fails)))

        # Exec fails for the unfixable causes, with AWS's errors.
        p = ecsh("exec", "-c", "network", "-s", "app", "--", "true")
        check(p.returncode == 254 and "TargetNotConnectedException" in p.stderr,
              "exec without a route to ssmmessages: TargetNotConnectedException", p.stderr)
        p = ecsh("exec", "-c", "ok", "-s", "app", "--", "true", key=("AKIAECSHDOCTORNOEXEC", "no-exec-secret"))
        check(p.returncode == 254 and "AccessDeniedException" in p.stderr and
              "ecs:ExecuteCommand" in p.stderr, "exec without permission: AccessDeniedException",
              p.stderr)
        p = ecsh("exec", "-c", "disabled", "-s", "app", "--", "true")
        check(p.returncode == 254 and "execute command was not enabled" in p.stderr and
              "doctor: ✗ service app has enableExecuteCommand" in p.stderr and
              "fix: ecsh enable -c disabled -s app" in p.stderr,
              "exec on a task started without exec: AWS's InvalidParameterException, then why "
              "and the ecsh enable line", p.stderr)
        # cp and forward into the same task explain themselves the same way.
        local = os.path.join(sb.dir, "to-copy")
        with open(local, "w") as f:
            f.write("x\n")
        p = ecsh("cp", "-c", "disabled", "-s", "app", local, ":/tmp/x")
        check(p.returncode == 254 and "doctor: ✗ service app has enableExecuteCommand" in p.stderr,
              "cp into a task started without exec: the cause and the fix", p.stderr)
        p = ecsh("forward", "-c", "disabled", "-s", "app", "-L", "0:80")
        check(p.returncode == 254 and "doctor: ✗ service app has enableExecuteCommand" in p.stderr,
              "forward into a task started without exec: the cause and the fix", p.stderr)

        # ls: the exec column says why not, and ready once it is.
        p = ecsh("ls", "services", "--output", "json")
        rows = {r["cluster"]: r for r in json.loads(p.stdout)} if p.returncode == 0 else {}
        check(rows.get("disabled", {}).get("exec") == "no: disabled on the service" and
              rows.get("redeploy", {}).get("exec", "").startswith("no: redeploy needed") and
              rows.get("ok", {}).get("exec", "").startswith("ready"),
              "ls services: the exec column", (p.returncode, rows, p.stderr))
        p = ecsh("ls", "tasks", "-c", "agent", "--output", "json")
        tasks = json.loads(p.stdout) if p.returncode == 0 else []
        check(len(tasks) == 1 and tasks[0]["exec"] == "no: no exec agent in any container",
              "ls tasks: an ECS agent too old for exec starts no exec agent",
              (p.returncode, tasks, p.stderr))

        # --output json: the plan as a document, nothing applied with --dry-run.
        p = ecsh("enable", "-c", "role", "-s", "app", "--dry-run", "--output", "json")
        doc = json.loads(p.stdout) if p.returncode == 0 else {}
        steps = doc.get("plan", [])
        actions = json.dumps(steps[0].get("policy", {})) if steps else ""
        check(doc.get("schema") == "ecsh.enable/1" and doc.get("applied") is False and
              [s["step"] for s in steps] ==
              ["put_role_policy", "update_service", "wait_for_exec_agent"] and
              "ssmmessages:CreateControlChannel" in actions and doc.get("cannot_fix") == [],
              "enable --dry-run --output json: the plan as one document", (p.returncode, doc))

        # enable fixes the fixable ones, then exec works.
        for cluster in ["role", "disabled", "redeploy", "kms"]:
            if cluster == "redeploy":  # the same, told as JSON: the changes made, applied
                p = ecsh("enable", "-c", cluster, "-s", "app", "--yes", "--output", "json")
                doc = json.loads(p.stdout) if p.returncode == 0 else {}
                check(doc.get("applied") is True and
                      any("exec agent is RUNNING" in c for c in doc.get("changes", [])) and
                      [s["step"] for s in doc.get("plan", [])] ==
                      ["update_service", "wait_for_exec_agent"],
                      f"enable --output json fixes cluster {cluster}",
                      (p.returncode, p.stdout[-600:], p.stderr[-400:]))
                continue
            p = ecsh("enable", "-c", cluster, "-s", "app", "--yes")
            check(p.returncode == 0 and "exec agent is RUNNING" in p.stdout,
                  f"enable fixes cluster {cluster}", (p.returncode, p.stdout[-600:], p.stderr[-400:]))
            rc, fails, _ = doctor(cluster)
            check(rc == 0 and not fails, f"doctor is green on {cluster} after enable", list(fails))
            p = ecsh("exec", "-c", cluster, "-s", "app", "--", "sh", "-c", "echo inside; exit 4")
            check(p.returncode == 4 and p.stdout == "inside\n",
                  f"exec works on {cluster} after enable", (p.returncode, p.stdout, p.stderr))
        p = ecsh("enable", "-c", "role", "-s", "app", "--yes")
        check(p.returncode == 0 and "Nothing to do" in p.stdout, "enable is idempotent", p.stdout)
        p = ecsh("ls", "containers", "-c", "role", "--output", "json")
        rows = json.loads(p.stdout) if p.returncode == 0 else []
        check(len(rows) == 1 and rows[0]["exec"] == "ready", "ls containers: ready after enable", rows)

        p = ecsh("enable", "-c", "platform", "-s", "app", "--dry-run")
        check("not fixable by ecsh enable" in p.stdout and "1.4.0" in p.stdout,
              "enable says what it cannot fix, with the instruction", p.stdout)
        p = ecsh("enable", "-c", "platform", "-s", "app", "--dry-run", "--output", "json")
        doc = json.loads(p.stdout) if p.stdout.strip() else {}
        check(p.returncode == 0 and doc.get("applied") is False and
              any("1.4.0" in c["fix"] for c in doc.get("cannot_fix", [])),
              "enable --dry-run --output json lists what it cannot fix",
              (p.returncode, p.stdout[-600:]))
        _, out, _ = aws(sb, "iam", "list-role-policies", "--role-name", "good-role")
        check(out["PolicyNames"] == ["policy-1"], "enable never touched a role it did not need to",
              out)
    finally:
        sb.cleanup()
    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
