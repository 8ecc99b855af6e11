#!/usr/bin/env python3
"""ecsh-sandbox end to end with the real AWS CLI v2 (/usr/bin/aws), for the APIs that
sandbox_cli_e2e.py does not drive: ECS task definitions, services, container instances,
RunTask/StartTask; SSM StartSession to a container instance (ecsh as the session-manager-plugin),
ResumeSession and TerminateSession; IAM instance profiles and DeleteRolePolicy; EC2
instances, VPCs and VPC endpoints; KMS DescribeKey; CloudWatch Logs GetLogEvents and
FilterLogEvents (from PutLogEvents and from an exec session's transcript). Each service also
gets its failure paths: AWS's error code, the operation, and the CLI's exit code 254."""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks, wait  # noqa: E402
from sandbox_proc import AWS_CLI, Sandbox, aws, aws_env  # noqa: E402

ACCOUNT = "000000000000"
REGION = "us-east-1"
CLUSTER = "cov"
INSTANCE = "i-0c0e5a00000000001"     # the scenario's container instance, SSM managed
UNMANAGED = "i-0c0e5a00000000002"    # a container instance without an SSM agent
REGISTERED = "i-0c0e5a000000000aa"   # registered through the CLI
UNKNOWN_INSTANCE = "i-0c0e5a0000000dead"
VPC, OTHER_VPC = "vpc-0c0e5a0000000001", "vpc-0c0e5a0000000002"
SUBNET = "subnet-0c0e5a0000000001"
SSMMESSAGES_VPCE, SSM_VPCE = "vpce-0c0e5a00000000001", "vpce-0c0e5a00000000002"
KEY_ID = "6a1f0c2e-1111-4c0e-8a55-c0ffee000001"
DISABLED_KEY_ID = "6a1f0c2e-1111-4c0e-8a55-c0ffee000002"
EXEC_LOG_GROUP = "/ecs/cov-exec"
APP_LOG_GROUP = "/cov/app"
SSM_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
               "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
ERROR_RE = re.compile(r"An error occurred \((?P<code>[^)]+)\) when calling the (?P<op>\w+) "
                      r"operation(?: \(reached max retries: \d+\))?: (?P<message>.*)")
SESSION_RE = re.compile(r"Starting session with SessionId: (\S+)")


def trust(service):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


def scenario():
    exec_policy = {"name": "exec", "document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": SSM_ACTIONS + ["logs:*"], "Resource": "*"}]}}
    sleep = ["sleep", "2147483647"]
    return {
        "roles": [{"name": "instance-role", "assume_role_policy": trust("ec2.amazonaws.com"),
                   "policies": [exec_policy]},
                  {"name": "task-role", "assume_role_policy": trust("ecs-tasks.amazonaws.com"),
                   "policies": [exec_policy]}],
        "kms_keys": [{"id": KEY_ID, "region": REGION, "description": "cov exec key"},
                     {"id": DISABLED_KEY_ID, "region": REGION, "state": "Disabled"}],
        "log_groups": [EXEC_LOG_GROUP, APP_LOG_GROUP],
        "network": {
            "vpcs": [{"id": VPC, "cidr": "10.42.0.0/16"},
                     {"id": OTHER_VPC, "cidr": "10.43.0.0/16"}],
            "subnets": [{"id": SUBNET, "vpc_id": VPC, "cidr": "10.42.1.0/24",
                         "route_to_internet": False}],
            "vpc_endpoints": [
                {"id": SSMMESSAGES_VPCE, "vpc_id": VPC,
                 "service_name": "com.amazonaws.<region>.ssmmessages", "private_dns_enabled": True},
                {"id": SSM_VPCE, "vpc_id": OTHER_VPC, "service_name": "com.amazonaws.<region>.ssm",
                 "private_dns_enabled": False}]},
        "clusters": [
            {"name": CLUSTER,
             "execute_command_configuration": {
                 "logging": "OVERRIDE",
                 "logConfiguration": {"cloudWatchLogGroupName": EXEC_LOG_GROUP}},
             "container_instances": [
                 {"instance_id": INSTANCE, "agent_version": "1.70.1", "private_ip": "127.0.0.1",
                  "instance_role_arn": f"arn:aws:iam::{ACCOUNT}:role/instance-role",
                  "subnet_id": SUBNET}]},
            {"name": "cov-legacy", "container_instances": [
                {"instance_id": UNMANAGED, "private_ip": "127.0.0.1", "subnet_id": SUBNET,
                 "ssm_managed": False}]}],
        "task_definitions": [
            {"family": "cov-app", "requiresCompatibilities": ["EC2"],
             "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/task-role",
             "containerDefinitions": [{"name": "app", "image": "busybox", "command": sleep,
                                       "essential": True}]}],
    }


check = Checks()


def arn(service, rest, region=REGION):
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{rest}"


def ok(sb, *args, env=None):
    rc, out, err = aws(sb, *args, env=env)
    if rc != 0:
        raise AssertionError(f"aws {' '.join(args)} failed ({rc}): {err}")
    return out


def parallel(sb, *calls):
    """Independent CLI calls at once (each is a ~1 s Python start-up): [(rc, out, err)]."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        return list(pool.map(lambda args: aws(sb, *args), calls))


def service_error(result, code, op, message=None):
    """Whether a CLI result is AWS's error `code` from `op` (with `message`), exit code 254."""
    rc, _, err = result
    m = ERROR_RE.search(err)
    return (rc == 254 and m is not None and m["code"] == code and m["op"] == op and
            (message is None or m["message"].strip() == message))



def plugin_env(work, ecsh):
    """The CLI's environment with ecsh first on PATH as the session-manager-plugin."""
    bindir = os.path.join(work, "bin")
    os.makedirs(bindir, exist_ok=True)
    os.symlink(os.path.abspath(ecsh), os.path.join(bindir, "session-manager-plugin"))
    env = aws_env()
    env["PATH"] = bindir + ":" + env.get("PATH", "/usr/bin:/bin")
    env["NO_PROXY"] = "127.0.0.1"
    return env


def ecs_checks(sb, env):
    """Clusters, task definitions, services, container instances, RunTask and StartTask."""
    ok(sb, "ecs", "create-cluster", "--cluster-name", "cov-extra")
    batch_defs = [json.dumps([{"name": "job", "image": "busybox", "essential": True,
                               "command": ["sleep", str(1000 + rev)]}]) for rev in (1, 2)]
    registered = [ok(sb, "ecs", "register-task-definition", "--family", "cov-app-batch",
                     "--requires-compatibilities", "EC2", "--task-role-arn",
                     f"arn:aws:iam::{ACCOUNT}:role/task-role",
                     "--container-definitions", d)["taskDefinition"] for d in batch_defs]
    batch_arns = [r["taskDefinitionArn"] for r in registered]
    svc = ok(sb, "ecs", "create-service", "--cluster", CLUSTER, "--service-name", "cov-svc",
             "--task-definition", "cov-app", "--desired-count", "0",
             "--launch-type", "EC2")["service"]

    clusters, all_defs, batch_only, app_only, latest, first, services, missing_def, \
        missing_cluster = parallel(
            sb, ["ecs", "list-clusters"], ["ecs", "list-task-definitions"],
            ["ecs", "list-task-definitions", "--family-prefix", "cov-app-batch"],
            ["ecs", "list-task-definitions", "--family-prefix", "cov-app"],
            ["ecs", "describe-task-definition", "--task-definition", "cov-app-batch"],
            ["ecs", "describe-task-definition", "--task-definition", batch_arns[0]],
            ["ecs", "list-services", "--cluster", CLUSTER],
            ["ecs", "describe-task-definition", "--task-definition", "cov-nope"],
            ["ecs", "list-services", "--cluster", "cov-nope"])
    check(clusters[0] == 0 and sorted(clusters[1]["clusterArns"]) ==
          sorted(arn("ecs", "cluster/" + n) for n in (CLUSTER, "cov-legacy", "cov-extra")),
          "ecs list-clusters: the scenario's clusters and the one just created", clusters)
    app_arn = arn("ecs", "task-definition/cov-app:1")
    check(batch_arns == [arn("ecs", "task-definition/cov-app-batch:1"),
                         arn("ecs", "task-definition/cov-app-batch:2")],
          "register-task-definition twice gives revisions 1 and 2", batch_arns)
    check(all_defs[0] == 0 and all_defs[1]["taskDefinitionArns"] == [app_arn] + batch_arns,
          "ecs list-task-definitions: every ACTIVE revision, by family and revision", all_defs)
    check(batch_only[0] == 0 and batch_only[1]["taskDefinitionArns"] == batch_arns and
          app_only[0] == 0 and app_only[1]["taskDefinitionArns"] == [app_arn],
          "list-task-definitions --family-prefix takes the full family name (cov-app is not "
          "a prefix of cov-app-batch)", (batch_only, app_only))
    td = latest[1]["taskDefinition"] if latest[0] == 0 else {}
    check(td.get("taskDefinitionArn") == batch_arns[1] and td.get("revision") == 2 and
          td.get("family") == "cov-app-batch" and
          td["containerDefinitions"][0]["command"] == ["sleep", "1002"] and
          td.get("status") == "ACTIVE",
          "ecs describe-task-definition FAMILY: the latest revision as registered", latest)
    td1 = first[1]["taskDefinition"] if first[0] == 0 else {}
    check(td1.get("revision") == 1 and td1["containerDefinitions"][0]["command"] ==
          ["sleep", "1001"], "describe-task-definition ARN: that revision", first)
    check(service_error(missing_def, "ClientException", "DescribeTaskDefinition",
                        "Unable to describe task definition."),
          "describe-task-definition of an unknown family: ClientException, exit 254", missing_def)
    check(services[0] == 0 and services[1]["serviceArns"] == [svc["serviceArn"]] and
          svc["serviceArn"] == arn("ecs", f"service/{CLUSTER}/cov-svc"),
          "ecs list-services: the service just created", services)
    check(service_error(missing_cluster, "ClusterNotFoundException", "ListServices"),
          "list-services of an unknown cluster: ClusterNotFoundException, exit 254",
          missing_cluster)

    # RunTask places the task on the cluster's only instance (registered before the second).
    run = ok(sb, "ecs", "run-task", "--cluster", CLUSTER, "--task-definition", "cov-app",
             "--enable-execute-command", "--started-by", "cov-run")
    run_task = run["tasks"][0] if run.get("tasks") else {}
    check(len(run.get("tasks", [])) == 1 and run.get("failures") == [] and
          run_task.get("taskDefinitionArn") == app_arn and run_task.get("launchType") == "EC2" and
          run_task.get("startedBy") == "cov-run" and run_task.get("enableExecuteCommand") is True,
          "ecs run-task returns the task it placed", run)

    identity = json.dumps({"instanceId": REGISTERED, "region": REGION, "privateIp": "127.0.0.1",
                           "instanceType": "t3.small", "accountId": ACCOUNT})
    version = {"agentVersion": "1.75.0", "agentHash": "c0ffee12",
               "dockerVersion": "DockerVersion: 24.0.7"}
    reg = ok(sb, "ecs", "register-container-instance", "--cluster", CLUSTER,
             "--instance-identity-document", identity, "--version-info",
             ",".join(f"{k}={v}" for k, v in version.items()))["containerInstance"]
    check(reg["ec2InstanceId"] == REGISTERED and reg["versionInfo"] == version and
          reg["status"] == "ACTIVE" and
          reg["containerInstanceArn"].startswith(arn("ecs", f"container-instance/{CLUSTER}/")),
          "ecs register-container-instance: the identity document's instance, the version "
          "info as sent", reg)
    reg_arn = reg["containerInstanceArn"]
    reg_id = reg_arn.rsplit("/", 1)[1]

    listed = ok(sb, "ecs", "list-container-instances", "--cluster", CLUSTER)
    arns = listed["containerInstanceArns"]
    check(len(arns) == 2 and reg_arn in arns, "ecs list-container-instances: the scenario's "
          "instance and the one just registered", listed)
    scenario_arn = next((a for a in arns if a != reg_arn), "")
    check(run_task.get("containerInstanceArn") == scenario_arn,
          "run-task placed the task on the scenario's container instance", run_task)

    start = ok(sb, "ecs", "start-task", "--cluster", CLUSTER, "--task-definition",
               "cov-app-batch:1", "--container-instances", reg_id, "--started-by", "cov-start")
    start_task = start["tasks"][0] if start.get("tasks") else {}
    check(len(start.get("tasks", [])) == 1 and start_task.get("containerInstanceArn") == reg_arn
          and start_task.get("taskDefinitionArn") == batch_arns[0] and
          start_task.get("startedBy") == "cov-start",
          "ecs start-task on the registered container instance", start)
    bad_start, bad_start_cluster = parallel(
        sb, ["ecs", "start-task", "--cluster", CLUSTER, "--task-definition", "cov-app",
             "--container-instances", "0c0e5a000000000000000000000dead0"],
        ["ecs", "start-task", "--cluster", "cov-nope", "--task-definition", "cov-app",
         "--container-instances", reg_id])
    check(service_error(bad_start, "InvalidParameterException", "StartTask"),
          "start-task on an unknown container instance: InvalidParameterException, exit 254",
          bad_start)
    check(service_error(bad_start_cluster, "ClusterNotFoundException", "StartTask"),
          "start-task in an unknown cluster: ClusterNotFoundException, exit 254",
          bad_start_cluster)

    task_arns = [run_task.get("taskArn"), start_task.get("taskArn")]

    def both_running():
        tasks = ok(sb, "ecs", "describe-tasks", "--cluster", CLUSTER, "--tasks", *task_arns)
        by_arn = {t["taskArn"]: t for t in tasks["tasks"]}
        if len(by_arn) != 2 or any(t["lastStatus"] != "RUNNING" for t in by_arn.values()):
            return None
        agents = by_arn[task_arns[0]]["containers"][0]["managedAgents"]
        return by_arn if agents and agents[0]["lastStatus"] == "RUNNING" else None

    running = wait(both_running, "the run-task and start-task tasks to be RUNNING")
    check(all(t["containers"][0]["lastStatus"] == "RUNNING" for t in running.values()),
          "the tasks of run-task and start-task reach RUNNING (and the exec agent runs)")

    described, on_registered = parallel(
        sb, ["ecs", "describe-container-instances", "--cluster", CLUSTER,
             "--container-instances", reg_id, scenario_arn, "0c0e5a000000000000000000000dead0"],
        ["ecs", "list-tasks", "--cluster", CLUSTER, "--container-instance", reg_arn])
    by_arn = ({i["containerInstanceArn"]: i for i in described[1]["containerInstances"]}
              if described[0] == 0 else {})
    mine, theirs = by_arn.get(reg_arn, {}), by_arn.get(scenario_arn, {})
    check(mine.get("ec2InstanceId") == REGISTERED and mine.get("versionInfo") == version and
          mine.get("runningTasksCount") == 1,
          "describe-container-instances: the registered instance as registered, running the "
          "start-task task", mine)
    check(theirs.get("ec2InstanceId") == INSTANCE and
          theirs.get("versionInfo", {}).get("agentVersion") == "1.70.1" and
          theirs.get("runningTasksCount") == 1,
          "describe-container-instances: the scenario's instance with its agent version", theirs)
    failures = described[1].get("failures", []) if described[0] == 0 else []
    check(len(failures) == 1 and failures[0]["reason"] == "MISSING" and
          failures[0]["arn"].endswith("0c0e5a000000000000000000000dead0"),
          "describe-container-instances reports an unknown instance as MISSING", failures)
    check(on_registered[0] == 0 and on_registered[1]["taskArns"] == [task_arns[1]],
          "list-tasks --container-instance: the start-task task only", on_registered)

    # An exec session into the run-task task: its transcript lands in the cluster's log group.
    p = subprocess.run([AWS_CLI, "--endpoint-url", sb.url, "ecs", "execute-command",
                        "--cluster", CLUSTER, "--task", task_arns[0], "--container", "app",
                        "--interactive", "--command", "sh -c 'echo transcript-$((7*6))'"],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=60)
    m = SESSION_RE.search(p.stdout)
    check(p.returncode == 0 and "transcript-42" in p.stdout and m is not None,
          "aws ecs execute-command into the run-task task", (p.returncode, p.stdout, p.stderr))
    return m.group(1) if m else None


def ssm_checks(sb, env):
    """StartSession to a container instance, ResumeSession, TerminateSession."""
    p = subprocess.run([AWS_CLI, "--endpoint-url", sb.url, "ssm", "start-session",
                        "--target", INSTANCE, "--document-name", "AWS-StartNonInteractiveCommand",
                        "--parameters", json.dumps({"command": ["echo cov-$((6*7)); hostname"]})],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=60)
    m = SESSION_RE.search(p.stdout)
    check(p.returncode == 0 and "cov-42" in p.stdout and os.uname().nodename in p.stdout
          and m is not None,
          "aws ssm start-session --target <container instance> runs the command on the host",
          (p.returncode, p.stdout, p.stderr))
    one_shot = m.group(1) if m else ""

    unknown, unmanaged = parallel(
        sb, ["ssm", "start-session", "--target", UNKNOWN_INSTANCE],
        ["ssm", "start-session", "--target", UNMANAGED])
    check(service_error(unknown, "TargetNotConnected", "StartSession",
                        f"{UNKNOWN_INSTANCE} is not connected."),
          "start-session to an unknown instance: TargetNotConnected, exit 254", unknown)
    check(service_error(unmanaged, "TargetNotConnected", "StartSession",
                        f"{UNMANAGED} is not connected."),
          "start-session to an instance without an SSM agent: TargetNotConnected", unmanaged)

    # A session that stays open: resumed, then terminated under the running CLI.
    out_path = os.path.join(sb.dir, "long-session.out")
    with open(out_path, "w") as out:
        long = subprocess.Popen(
            [AWS_CLI, "--endpoint-url", sb.url, "ssm", "start-session", "--target", INSTANCE,
             "--document-name", "AWS-StartNonInteractiveCommand", "--parameters",
             json.dumps({"command": ["echo cov-open; sleep 120; echo cov-late"]})],
            env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        def opened():
            with open(out_path) as f:
                text = f.read()
            m = SESSION_RE.search(text)
            return m.group(1) if m and "cov-open" in text else None

        session_id = wait(opened, "the long session's first output")
        active, history = parallel(sb, ["ssm", "describe-sessions", "--state", "Active"],
                                   ["ssm", "describe-sessions", "--state", "History"])
        active_ids = [s["SessionId"] for s in active[1]["Sessions"]] if active[0] == 0 else []
        past = {s["SessionId"]: s for s in history[1]["Sessions"]} if history[0] == 0 else {}
        check(active_ids == [session_id], "describe-sessions --state Active: the open session",
              active)
        check(past.get(one_shot, {}).get("Status") == "Terminated" and
              past[one_shot]["Target"] == INSTANCE and
              past[one_shot]["DocumentName"] == "AWS-StartNonInteractiveCommand",
              "describe-sessions --state History: the finished start-session", history)

        r1, r2 = parallel(sb, ["ssm", "resume-session", "--session-id", session_id],
                          ["ssm", "resume-session", "--session-id", session_id])
        tokens = [r[1].get("TokenValue") for r in (r1, r2) if r[0] == 0]
        check(r1[0] == 0 and r1[1]["SessionId"] == session_id and
              r1[1]["StreamUrl"].split("?")[0].endswith("/v1/data-channel/" + session_id) and
              r1[1]["StreamUrl"].startswith(("ws://", "wss://")) and
              len(tokens) == 2 and all(tokens) and tokens[0] != tokens[1],
              "ssm resume-session: the session's stream URL and a new token each time",
              (r1, r2))
        check(long.poll() is None, "the open session still runs after resume-session")

        term = ok(sb, "ssm", "terminate-session", "--session-id", session_id)
        check(term == {"SessionId": session_id}, "ssm terminate-session returns the session",
              term)
        try:
            rc = long.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rc = None
        with open(out_path) as f:
            text = f.read()
        check(rc == 0 and "cov-late" not in text,
              "terminate-session ends the running `aws ssm start-session` (exit 0, the command "
              "cut short)", (rc, text))
    finally:
        if long.poll() is None:
            long.kill()
            long.wait(timeout=10)

    active, history, resumed, missing = parallel(
        sb, ["ssm", "describe-sessions", "--state", "Active"],
        ["ssm", "describe-sessions", "--state", "History"],
        ["ssm", "resume-session", "--session-id", session_id],
        ["ssm", "resume-session", "--session-id", "root-0c0e5a000000dead0"])
    past = {s["SessionId"]: s for s in history[1]["Sessions"]} if history[0] == 0 else {}
    check(active[0] == 0 and active[1]["Sessions"] == [] and
          past.get(session_id, {}).get("Status") == "Terminated",
          "the terminated session is in History, no longer Active", (active, history))
    check(resumed[0] == 0 and resumed[1].get("SessionId") == session_id and
          not resumed[1].get("TokenValue"),
          "resume-session of a terminated session gives no token (it cannot be resumed)",
          resumed)
    check(service_error(missing, "DoesNotExistException", "ResumeSession",
                        "Session with id root-0c0e5a000000dead0 does not exist."),
          "resume-session of an unknown session: DoesNotExistException, exit 254", missing)


def iam_checks(sb):
    ok(sb, "iam", "create-instance-profile", "--instance-profile-name", "cov-profile")
    ok(sb, "iam", "add-role-to-instance-profile", "--instance-profile-name", "cov-profile",
       "--role-name", "instance-role")
    ok(sb, "iam", "put-role-policy", "--role-name", "task-role", "--policy-name", "extra",
       "--policy-document", json.dumps({"Version": "2012-10-17", "Statement": [
           {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    profile, missing_profile, deleted = parallel(
        sb, ["iam", "get-instance-profile", "--instance-profile-name", "cov-profile"],
        ["iam", "get-instance-profile", "--instance-profile-name", "cov-nope"],
        ["iam", "delete-role-policy", "--role-name", "task-role", "--policy-name", "extra"])
    ip = profile[1]["InstanceProfile"] if profile[0] == 0 else {}
    roles = ip.get("Roles", [])
    check(ip.get("InstanceProfileName") == "cov-profile" and
          ip.get("Arn") == f"arn:aws:iam::{ACCOUNT}:instance-profile/cov-profile" and
          ip.get("InstanceProfileId", "").startswith("AIPA") and len(roles) == 1 and
          roles[0]["RoleName"] == "instance-role" and
          roles[0]["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/instance-role" and
          roles[0]["AssumeRolePolicyDocument"] == trust("ec2.amazonaws.com"),
          "iam get-instance-profile: the profile with the role added to it", profile)
    check(service_error(missing_profile, "NoSuchEntity", "GetInstanceProfile",
                        "Instance Profile cov-nope cannot be found."),
          "get-instance-profile of an unknown profile: NoSuchEntity, exit 254", missing_profile)
    check(deleted[0] == 0, "iam delete-role-policy", deleted)
    names, again = parallel(
        sb, ["iam", "list-role-policies", "--role-name", "task-role"],
        ["iam", "delete-role-policy", "--role-name", "task-role", "--policy-name", "extra"])
    check(names[0] == 0 and names[1]["PolicyNames"] == ["exec"],
          "after delete-role-policy only the scenario's policy is left", names)
    check(service_error(again, "NoSuchEntity", "DeleteRolePolicy",
                        "The role policy with name extra cannot be found."),
          "delete-role-policy of a missing policy: NoSuchEntity, exit 254", again)


def ec2_checks(sb):
    inst, vpcs, one_vpc, by_vpc, by_service, by_id, bad_inst, bad_vpc, bad_vpce = parallel(
        sb, ["ec2", "describe-instances", "--instance-ids", INSTANCE],
        ["ec2", "describe-vpcs"], ["ec2", "describe-vpcs", "--vpc-ids", OTHER_VPC],
        ["ec2", "describe-vpc-endpoints", "--filters", "Name=vpc-id,Values=" + VPC],
        ["ec2", "describe-vpc-endpoints", "--filters",
         f"Name=service-name,Values=com.amazonaws.{REGION}.ssm"],
        ["ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", SSMMESSAGES_VPCE],
        ["ec2", "describe-instances", "--instance-ids", UNKNOWN_INSTANCE],
        ["ec2", "describe-vpcs", "--vpc-ids", "vpc-0c0e5a000000dead"],
        ["ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", "vpce-0c0e5a0000000dead"])
    found = ([i for r in inst[1]["Reservations"] for i in r["Instances"]]
             if inst[0] == 0 else [])
    i = found[0] if len(found) == 1 else {}
    check(i.get("InstanceId") == INSTANCE and i.get("SubnetId") == SUBNET and
          i.get("VpcId") == VPC and i.get("PrivateIpAddress") == "127.0.0.1" and
          i.get("State", {}).get("Name") == "running" and
          i.get("IamInstanceProfile", {}).get("Arn", "").startswith(
              f"arn:aws:iam::{ACCOUNT}:instance-profile/"),
          "ec2 describe-instances: the container instance in the scenario's subnet", inst)
    check(service_error(bad_inst, "InvalidInstanceID.NotFound", "DescribeInstances",
                        f"The instance ID '{UNKNOWN_INSTANCE}' does not exist"),
          "describe-instances of an unknown instance: InvalidInstanceID.NotFound, exit 254",
          bad_inst)
    got = {v["VpcId"]: v["CidrBlock"] for v in vpcs[1]["Vpcs"]} if vpcs[0] == 0 else {}
    check(got == {VPC: "10.42.0.0/16", OTHER_VPC: "10.43.0.0/16"} and one_vpc[0] == 0 and
          [v["VpcId"] for v in one_vpc[1]["Vpcs"]] == [OTHER_VPC],
          "ec2 describe-vpcs: the scenario's VPCs with their CIDR blocks, and one by ID",
          (vpcs, one_vpc))
    check(service_error(bad_vpc, "InvalidVpcID.NotFound", "DescribeVpcs",
                        "The vpc ID 'vpc-0c0e5a000000dead' does not exist"),
          "describe-vpcs of an unknown VPC: InvalidVpcID.NotFound, exit 254", bad_vpc)
    eps = by_vpc[1]["VpcEndpoints"] if by_vpc[0] == 0 else []
    check(len(eps) == 1 and eps[0]["VpcEndpointId"] == SSMMESSAGES_VPCE and
          eps[0]["VpcId"] == VPC and eps[0]["ServiceName"] == f"com.amazonaws.{REGION}.ssmmessages"
          and eps[0]["PrivateDnsEnabled"] is True and eps[0]["State"] == "available",
          "ec2 describe-vpc-endpoints: the VPC's ssmmessages endpoint with private DNS", by_vpc)
    other = by_service[1]["VpcEndpoints"] if by_service[0] == 0 else []
    check(len(other) == 1 and other[0]["VpcEndpointId"] == SSM_VPCE and
          other[0]["VpcId"] == OTHER_VPC and other[0]["PrivateDnsEnabled"] is False,
          "describe-vpc-endpoints by service name: the ssm endpoint without private DNS",
          by_service)
    check(by_id[0] == 0 and [e["VpcEndpointId"] for e in by_id[1]["VpcEndpoints"]] ==
          [SSMMESSAGES_VPCE], "describe-vpc-endpoints --vpc-endpoint-ids", by_id)
    check(service_error(bad_vpce, "InvalidVpcEndpointId.NotFound", "DescribeVpcEndpoints",
                        "The Vpc Endpoint Id 'vpce-0c0e5a0000000dead' does not exist"),
          "describe-vpc-endpoints of an unknown endpoint: InvalidVpcEndpointId.NotFound", bad_vpce)


def kms_checks(sb):
    key_arn = arn("kms", "key/" + KEY_ID)
    missing_id = str(uuid.uuid4())
    by_id, by_arn, disabled, missing = parallel(
        sb, ["kms", "describe-key", "--key-id", KEY_ID],
        ["kms", "describe-key", "--key-id", key_arn],
        ["kms", "describe-key", "--key-id", DISABLED_KEY_ID],
        ["kms", "describe-key", "--key-id", missing_id])
    meta = by_id[1]["KeyMetadata"] if by_id[0] == 0 else {}
    check(meta.get("KeyId") == KEY_ID and meta.get("Arn") == key_arn and
          meta.get("Enabled") is True and meta.get("KeyState") == "Enabled" and
          meta.get("Description") == "cov exec key" and meta.get("AWSAccountId") == ACCOUNT,
          "kms describe-key: the scenario's key, enabled", by_id)
    check(by_arn[0] == 0 and by_arn[1]["KeyMetadata"]["KeyId"] == KEY_ID,
          "kms describe-key by ARN", by_arn)
    off = disabled[1]["KeyMetadata"] if disabled[0] == 0 else {}
    check(off.get("KeyId") == DISABLED_KEY_ID and off.get("Enabled") is False and
          off.get("KeyState") == "Disabled", "kms describe-key: a disabled key", disabled)
    check(service_error(missing, "NotFoundException", "DescribeKey",
                        f"Key '{arn('kms', 'key/' + missing_id)}' does not exist"),
          "describe-key of an unknown key: NotFoundException, exit 254", missing)


def logs_checks(sb, exec_session):
    now = int(time.time() * 1000)
    needle = "needle-" + uuid.uuid4().hex[:8]
    first = [{"timestamp": now, "message": "cov first line"},
             {"timestamp": now + 1, "message": f"cov {needle} line"},
             {"timestamp": now + 2, "message": "cov last line"}]
    other = [{"timestamp": now + 3, "message": f"other {needle}"}]
    ok(sb, "logs", "create-log-stream", "--log-group-name", APP_LOG_GROUP,
       "--log-stream-name", "web/1")
    ok(sb, "logs", "create-log-stream", "--log-group-name", APP_LOG_GROUP,
       "--log-stream-name", "worker/1")
    parallel(sb, ["logs", "put-log-events", "--log-group-name", APP_LOG_GROUP,
                  "--log-stream-name", "web/1", "--log-events", json.dumps(first)],
             ["logs", "put-log-events", "--log-group-name", APP_LOG_GROUP,
              "--log-stream-name", "worker/1", "--log-events", json.dumps(other)])
    got, filtered, one_stream, no_group, no_stream, filter_no_group = parallel(
        sb, ["logs", "get-log-events", "--log-group-name", APP_LOG_GROUP,
             "--log-stream-name", "web/1", "--start-from-head"],
        ["logs", "filter-log-events", "--log-group-name", APP_LOG_GROUP,
         "--filter-pattern", f'"{needle}"'],
        ["logs", "filter-log-events", "--log-group-name", APP_LOG_GROUP,
         "--log-stream-names", "worker/1"],
        ["logs", "get-log-events", "--log-group-name", "/cov/nope", "--log-stream-name", "x"],
        ["logs", "get-log-events", "--log-group-name", APP_LOG_GROUP,
         "--log-stream-name", "nope"],
        ["logs", "filter-log-events", "--log-group-name", "/cov/nope"])
    events = got[1]["events"] if got[0] == 0 else []
    check([(e["timestamp"], e["message"]) for e in events] ==
          [(e["timestamp"], e["message"]) for e in first] and
          got[1]["nextForwardToken"].startswith("f/"),
          "logs get-log-events returns what put-log-events wrote, in order", got)
    hits = filtered[1]["events"] if filtered[0] == 0 else []
    check(sorted((e["logStreamName"], e["message"]) for e in hits) ==
          [("web/1", f"cov {needle} line"), ("worker/1", f"other {needle}")] and
          all(e.get("eventId") for e in hits),
          "logs filter-log-events --filter-pattern: the matching events of every stream",
          filtered)
    only = one_stream[1]["events"] if one_stream[0] == 0 else []
    check([(e["logStreamName"], e["message"]) for e in only] == [("worker/1", f"other {needle}")],
          "filter-log-events --log-stream-names: that stream's events only", one_stream)
    check(service_error(no_group, "ResourceNotFoundException", "GetLogEvents",
                        "The specified log group does not exist."),
          "get-log-events on a missing group: ResourceNotFoundException, exit 254", no_group)
    check(service_error(no_stream, "ResourceNotFoundException", "GetLogEvents",
                        "The specified log stream does not exist."),
          "get-log-events on a missing stream: ResourceNotFoundException, exit 254", no_stream)
    check(service_error(filter_no_group, "ResourceNotFoundException", "FilterLogEvents",
                        "The specified log group does not exist."),
          "filter-log-events on a missing group: ResourceNotFoundException, exit 254",
          filter_no_group)

    if not exec_session:
        check(False, "an exec session to read the transcript of")
        return

    # The agent writes the transcript when the session ends (the CLI may return first).
    def transcript():
        rc, out, _ = aws(sb, "logs", "get-log-events", "--log-group-name", EXEC_LOG_GROUP,
                         "--log-stream-name", exec_session)
        return out["events"] if rc == 0 and out["events"] else None

    events = wait(transcript, "the exec session's transcript", timeout=20)
    check(any("transcript-42" in e["message"] for e in events),
          "get-log-events: the exec session's transcript in the cluster's log group", events)
    rc, out, err = aws(sb, "logs", "filter-log-events", "--log-group-name", EXEC_LOG_GROUP,
                       "--filter-pattern", '"transcript-42"')
    check(rc == 0 and [e["logStreamName"] for e in out["events"]] == [exec_session],
          "filter-log-events finds the transcript by its content", (rc, out, err))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sandbox", required=True)
    ap.add_argument("--ecsh", required=True, help="used as the session-manager-plugin")
    opts = ap.parse_args()

    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="ecsh-cov-e2e-")
    sb = Sandbox(opts.sandbox, scenario=scenario()).start()
    try:
        env = plugin_env(work, opts.ecsh)

        def timed(name, fn, *args):
            t = time.monotonic()
            result = fn(*args)
            print(f"--   {name}: {time.monotonic() - t:.1f} s")
            return result

        exec_session = timed("ECS", ecs_checks, sb, env)
        timed("SSM", ssm_checks, sb, env)
        timed("IAM", iam_checks, sb)
        timed("EC2", ec2_checks, sb)
        timed("KMS", kms_checks, sb)
        timed("Logs", logs_checks, sb, exec_session)
    except Exception:
        print("sandbox stderr:\n" + sb.stderr_text()[-4000:])
        raise
    finally:
        sb.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    print(f"--   total: {time.monotonic() - started:.1f} s")
    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
