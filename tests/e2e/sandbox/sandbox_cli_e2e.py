#!/usr/bin/env python3
"""ecsh-sandbox end to end with the real AWS CLI v2 (/usr/bin/aws): STS, IAM, SigV4 failures,
policy enforcement, temporary credentials, persistence across restarts, injected throttling."""
import argparse
import subprocess
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks, wait  # noqa: E402
from sandbox_proc import Sandbox, aws, aws_env  # noqa: E402

ACCOUNT = "000000000000"
TRUST_ACCOUNT = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
     "Action": "sts:AssumeRole"}]}
SSM_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ssmmessages:CreateControlChannel",
                                   "ssmmessages:CreateDataChannel",
                                   "ssmmessages:OpenControlChannel",
                                   "ssmmessages:OpenDataChannel"], "Resource": "*"}]}
READ_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*", "sts:GetCallerIdentity"],
     "Resource": "*"}]}

check = Checks()


def ok(sb, *args, env=None):
    rc, out, err = aws(sb, *args, env=env)
    if rc != 0:
        raise AssertionError(f"aws {' '.join(args)} failed ({rc}): {err}")
    return out



def ecs_checks(sb, ecsh):
    """ECS and SSM through the AWS CLI: a service whose exec flag only reaches new tasks."""
    bindir = os.path.join(sb.dir, "bin")
    os.makedirs(bindir, exist_ok=True)
    plugin = os.path.join(bindir, "session-manager-plugin")
    if not os.path.exists(plugin):
        os.symlink(os.path.abspath(ecsh), plugin)
    env = aws_env()
    env["PATH"] = bindir + ":" + env.get("PATH", "/usr/bin:/bin")
    env["NO_PROXY"] = "127.0.0.1"

    cluster = ok(sb, "ecs", "create-cluster", "--cluster-name", "cli",
                 "--configuration", "executeCommandConfiguration={logging=DEFAULT}",
                 "--tags", "key=team,value=sre")["cluster"]
    check(cluster["clusterArn"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/cli",
          "ecs create-cluster", cluster)
    got = ok(sb, "ecs", "describe-clusters", "--clusters", "cli", "nope", "--include", "CONFIGURATIONS")
    check(got["clusters"][0]["configuration"]["executeCommandConfiguration"]["logging"] == "DEFAULT"
          and got["failures"][0]["reason"] == "MISSING",
          "describe-clusters shows the exec configuration and a MISSING failure", got)
    ok(sb, "iam", "put-role-policy", "--role-name", "task-role", "--policy-name", "ssm2",
       "--policy-document", json.dumps(SSM_POLICY))
    ok(sb, "iam", "detach-role-policy", "--role-name", "task-role", "--policy-arn",
       f"arn:aws:iam::{ACCOUNT}:policy/no-data-channel")
    td = ok(sb, "ecs", "register-task-definition", "--family", "svc", "--network-mode", "awsvpc",
            "--requires-compatibilities", "FARGATE", "--cpu", "256", "--memory", "512",
            "--task-role-arn", f"arn:aws:iam::{ACCOUNT}:role/task-role",
            "--container-definitions", json.dumps([{"name": "main", "image": "busybox",
                                                    "command": ["sleep", "100000"]}]))
    check(td["taskDefinition"]["revision"] == 1 and
          td["taskDefinition"]["taskDefinitionArn"].endswith("task-definition/svc:1"),
          "ecs register-task-definition", td)
    svc = ok(sb, "ecs", "create-service", "--cluster", "cli", "--service-name", "api",
             "--task-definition", "svc", "--desired-count", "1", "--launch-type", "FARGATE",
             "--network-configuration",
             "awsvpcConfiguration={subnets=[subnet-0ec5a0d0000000001]}")["service"]
    check(svc["enableExecuteCommand"] is False and svc["deployments"][0]["status"] == "PRIMARY",
          "ecs create-service", svc)

    def running_tasks():
        arns = ok(sb, "ecs", "list-tasks", "--cluster", "cli", "--service-name", "api")["taskArns"]
        if not arns:
            return None
        tasks = ok(sb, "ecs", "describe-tasks", "--cluster", "cli", "--tasks", *arns)["tasks"]
        return [t for t in tasks if t["lastStatus"] == "RUNNING"] or None

    first = wait(running_tasks, "the first task")[0]
    check(first["enableExecuteCommand"] is False and first["group"] == "service:api" and
          first["containers"][0]["managedAgents"] == [] and first["containers"][0]["runtimeId"],
          "describe-tasks: a task started without exec has no exec agent", first)

    ok(sb, "ecs", "update-service", "--cluster", "cli", "--service", "api", "--enable-execute-command")
    exec_args = ["ecs", "execute-command", "--cluster", "cli", "--task", first["taskArn"],
                 "--container", "main", "--interactive", "--command", "echo inside"]
    rc, _, err = aws(sb, *exec_args, env=env)
    check(rc == 254 and "InvalidParameterException" in err and
          "execute command was not enabled when the task was run" in err,
          "update-service --enable-execute-command: the running task still refuses exec", err)

    ok(sb, "ecs", "update-service", "--cluster", "cli", "--service", "api", "--force-new-deployment")

    def replaced():
        tasks = running_tasks() or []
        new = [t for t in tasks if t["taskArn"] != first["taskArn"] and t["enableExecuteCommand"]]
        if not new or len(tasks) != 1:
            return None
        agents = new[0]["containers"][0]["managedAgents"]
        return new[0] if agents and agents[0]["lastStatus"] == "RUNNING" else None

    second = wait(replaced, "the new deployment's task")
    services = ok(sb, "ecs", "describe-services", "--cluster", "cli", "--services", "api")["services"]
    check(services[0]["deployments"][0]["rolloutState"] == "COMPLETED" and
          len(services[0]["deployments"]) == 1 and
          any("has reached a steady state" in e["message"] for e in services[0]["events"]),
          "the forced deployment rolls out and completes", services[0]["deployments"])
    old = ok(sb, "ecs", "describe-tasks", "--cluster", "cli", "--tasks", first["taskArn"])["tasks"][0]
    check(old["desiredStatus"] == "STOPPED", "the old task is stopped by the deployment", old)
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", sb.url, "ecs", "execute-command",
                        "--cluster", "cli", "--task", second["taskArn"], "--container", "main",
                        "--interactive", "--command", "echo inside-new-task"],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and "inside-new-task" in p.stdout,
          "the task of the forced new deployment accepts exec", (p.stdout, p.stderr))

    sessions = ok(sb, "ssm", "describe-sessions", "--state", "History")["Sessions"]
    check(any(s["SessionId"].startswith("ecs-execute-command-") for s in sessions),
          "ssm describe-sessions lists the finished exec session", sessions)
    ok(sb, "ssm", "describe-instance-information")
    ok(sb, "ecs", "tag-resource", "--resource-arn", cluster["clusterArn"], "--tags",
       "key=env,value=test")
    tags = ok(sb, "ecs", "list-tags-for-resource", "--resource-arn", cluster["clusterArn"])["tags"]
    check(sorted(t["key"] for t in tags) == ["env", "team"], "tag-resource and list-tags-for-resource",
          tags)
    stopped = ok(sb, "ecs", "stop-task", "--cluster", "cli", "--task", second["taskArn"],
                 "--reason", "e2e")["task"]
    check(stopped["desiredStatus"] == "STOPPED" and stopped["stoppedReason"] == "e2e",
          "stop-task records the reason", stopped)
    rc, _, err = aws(sb, "ecs", "describe-services", "--cluster", "nope", "--services", "api")
    check(rc == 254 and "ClusterNotFoundException" in err, "an unknown cluster", err)
    ok(sb, "ecs", "update-service", "--cluster", "cli", "--service", "api", "--desired-count", "0")
    ok(sb, "ecs", "delete-service", "--cluster", "cli", "--service", "api")
    ok(sb, "ecs", "deregister-task-definition", "--task-definition", "svc:1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sandbox", required=True)
    ap.add_argument("--ecsh", required=True, help="used as the session-manager-plugin")
    opts = ap.parse_args()

    sb = Sandbox(opts.sandbox).start()
    try:
        who = ok(sb, "sts", "get-caller-identity")
        check(who["Arn"] == f"arn:aws:iam::{ACCOUNT}:root" and who["Account"] == ACCOUNT,
              "the built-in administrator is the account root", who)

        role = ok(sb, "iam", "create-role", "--role-name", "task-role",
                  "--assume-role-policy-document", json.dumps(TRUST_ACCOUNT),
                  "--description", "exec target")["Role"]
        check(role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/task-role"
              and role["RoleId"].startswith("AROA")
              and role["AssumeRolePolicyDocument"] == TRUST_ACCOUNT,
              "create-role returns the role with its decoded trust policy", role)
        rc, _, err = aws(sb, "iam", "create-role", "--role-name", "task-role",
                         "--assume-role-policy-document", json.dumps(TRUST_ACCOUNT))
        check(rc == 254 and "EntityAlreadyExists" in err, "a second create-role is refused", err)
        rc, _, err = aws(sb, "iam", "put-role-policy", "--role-name", "task-role",
                         "--policy-name", "bad", "--policy-document", '{"Statement": 5}')
        check(rc == 254 and "MalformedPolicyDocument" in err, "malformed policies are refused", err)

        ok(sb, "iam", "put-role-policy", "--role-name", "task-role", "--policy-name", "ssm",
           "--policy-document", json.dumps(SSM_POLICY))
        got = ok(sb, "iam", "get-role-policy", "--role-name", "task-role", "--policy-name", "ssm")
        check(got["PolicyDocument"] == SSM_POLICY, "get-role-policy returns the document", got)
        names = ok(sb, "iam", "list-role-policies", "--role-name", "task-role")["PolicyNames"]
        check(names == ["ssm"], "list-role-policies", names)

        deny = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "ssmmessages:OpenDataChannel", "Resource": "*"}]}
        pol = ok(sb, "iam", "create-policy", "--policy-name", "no-data-channel",
                 "--policy-document", json.dumps(deny))["Policy"]
        check(pol["Arn"] == f"arn:aws:iam::{ACCOUNT}:policy/no-data-channel",
              "create-policy names the customer managed policy", pol)
        ok(sb, "iam", "attach-role-policy", "--role-name", "task-role", "--policy-arn", pol["Arn"])
        attached = ok(sb, "iam", "list-attached-role-policies",
                      "--role-name", "task-role")["AttachedPolicies"]
        check([a["PolicyArn"] for a in attached] == [pol["Arn"]], "list-attached-role-policies",
              attached)
        version = ok(sb, "iam", "get-policy-version", "--policy-arn", pol["Arn"],
                     "--version-id", "v1")["PolicyVersion"]
        check(version["Document"] == deny and version["IsDefaultVersion"],
              "get-policy-version returns the document", version)
        check(ok(sb, "iam", "get-policy", "--policy-arn", pol["Arn"])["Policy"]["AttachmentCount"]
              == 1, "get-policy counts attachments")

        sim = ok(sb, "iam", "simulate-principal-policy", "--policy-source-arn", role["Arn"],
                 "--action-names", "ssmmessages:CreateControlChannel",
                 "ssmmessages:OpenDataChannel", "ecs:ExecuteCommand")["EvaluationResults"]
        decisions = {r["EvalActionName"]: r["EvalDecision"] for r in sim}
        check(decisions == {"ssmmessages:CreateControlChannel": "allowed",
                            "ssmmessages:OpenDataChannel": "explicitDeny",
                            "ecs:ExecuteCommand": "implicitDeny"},
              "simulate-principal-policy: allowed, explicit deny wins, implicit deny", decisions)

        rc, _, err = aws(sb, "iam", "delete-role", "--role-name", "task-role")
        check(rc == 254 and "DeleteConflict" in err, "a role with policies cannot be deleted", err)

        # A user with read-only rights and its own access key.
        ok(sb, "iam", "create-user", "--user-name", "dev")
        ok(sb, "iam", "put-user-policy", "--user-name", "dev", "--policy-name", "ro",
           "--policy-document", json.dumps(READ_ONLY))
        key = ok(sb, "iam", "create-access-key", "--user-name", "dev")["AccessKey"]
        dev = aws_env(key["AccessKeyId"], key["SecretAccessKey"])
        who = ok(sb, "sts", "get-caller-identity", env=dev)
        check(who["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/dev", "a new access key signs at once",
              who)
        rc, _, err = aws(sb, "iam", "create-role", "--role-name", "x",
                         "--assume-role-policy-document", json.dumps(TRUST_ACCOUNT), env=dev)
        check(rc == 254 and "AccessDenied" in err and
              f"User: arn:aws:iam::{ACCOUNT}:user/dev is not authorized to perform: "
              f"iam:CreateRole on resource: arn:aws:iam::{ACCOUNT}:role/x because no "
              "identity-based policy allows the iam:CreateRole action" in err,
              "a call the caller's policy does not allow is denied with IAM's text", err)
        check(ok(sb, "iam", "get-role", "--role-name", "task-role", env=dev)["Role"]["RoleName"]
              == "task-role", "a call it allows succeeds")

        # Signatures.
        rc, _, err = aws(sb, "sts", "get-caller-identity",
                         env=aws_env(key["AccessKeyId"], "not-the-secret"))
        check(rc == 254 and "SignatureDoesNotMatch" in err, "a wrong secret: SignatureDoesNotMatch",
              err)
        rc, _, err = aws(sb, "sts", "get-caller-identity", env=aws_env("AKIANOSUCHKEY0000000", "x"))
        check(rc == 254 and "InvalidClientTokenId" in err and
              "The security token included in the request is invalid" in err,
              "an unknown key: InvalidClientTokenId", err)

        # Temporary credentials: the session token is enforced.
        creds = ok(sb, "sts", "assume-role", "--role-arn", role["Arn"],
                   "--role-session-name", "e2e")["Credentials"]
        check(creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"],
              "assume-role hands out temporary credentials", creds.keys())
        temp = aws_env(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        who = ok(sb, "sts", "get-caller-identity", env=temp)
        check(who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/task-role/e2e",
              "temporary credentials sign as the assumed role", who)
        rc, _, err = aws(sb, "sts", "get-caller-identity",
                         env=aws_env(creds["AccessKeyId"], creds["SecretAccessKey"]))
        check(rc == 254 and "InvalidClientTokenId" in err,
              "temporary credentials without their session token are refused", err)
        rc, _, err = aws(sb, "iam", "list-roles", env=temp)
        check(rc == 254 and "assumed-role/task-role/e2e is not authorized" in err,
              "the assumed role has only the role's permissions", err)

        # EC2 network, KMS, Logs.
        subnets = ok(sb, "ec2", "describe-subnets")["Subnets"]
        check(len(subnets) == 1 and subnets[0]["VpcId"].startswith("vpc-"),
              "ec2 describe-subnets: the default subnet", subnets)
        routes = ok(sb, "ec2", "describe-route-tables", "--filters",
                    "Name=association.subnet-id,Values=" + subnets[0]["SubnetId"])["RouteTables"]
        check(any(r.get("DestinationCidrBlock") == "0.0.0.0/0" and
                  r.get("GatewayId", "").startswith("igw-") for r in routes[0]["Routes"]),
              "the default subnet routes out through an internet gateway", routes)
        rc, _, err = aws(sb, "ec2", "describe-subnets", "--subnet-ids", "subnet-nope")
        check(rc == 254 and "InvalidSubnetID.NotFound" in err, "an unknown subnet", err)
        key = ok(sb, "kms", "create-key", "--description", "exec")["KeyMetadata"]
        check(key["KeyState"] == "Enabled" and key["Arn"].endswith(key["KeyId"]), "kms create-key",
              key)
        blob_path = os.path.join(sb.dir, "blob")
        dk = ok(sb, "kms", "generate-data-key", "--key-id", key["Arn"], "--number-of-bytes", "64",
                "--encryption-context", "aws:ssm:SessionId=s1")
        import base64
        with open(blob_path, "wb") as f:
            f.write(base64.b64decode(dk["CiphertextBlob"]))
        plain = ok(sb, "kms", "decrypt", "--ciphertext-blob", "fileb://" + blob_path,
                   "--encryption-context", "aws:ssm:SessionId=s1")
        check(plain["Plaintext"] == dk["Plaintext"] and len(base64.b64decode(plain["Plaintext"])) == 64,
              "kms decrypt returns the data key", plain.keys())
        rc, _, err = aws(sb, "kms", "decrypt", "--ciphertext-blob", "fileb://" + blob_path,
                         "--encryption-context", "aws:ssm:SessionId=other")
        check(rc == 254 and "InvalidCiphertextException" in err,
              "kms decrypt with another encryption context fails", err)
        ok(sb, "logs", "create-log-group", "--log-group-name", "/ecs/exec")
        groups = ok(sb, "logs", "describe-log-groups", "--log-group-name-prefix", "/ecs")
        check([g["logGroupName"] for g in groups["logGroups"]] == ["/ecs/exec"],
              "logs create-log-group and describe-log-groups", groups)

        ecs_checks(sb, opts.ecsh)

        # Injected throttling.
        sb.admin("/_sandbox/faults", {"api": {"throttle_rate": 1.0,
                                              "operations": ["GetCallerIdentity"]}})
        rc, _, err = aws(sb, "sts", "get-caller-identity")
        check(rc == 254 and "Throttling" in err, "injected throttling reaches the client", err)
        sb.admin("/_sandbox/faults", {"api": {}})

        # Persistence across a clean restart.
        rc = sb.stop()
        check(rc == 0, "SIGTERM stops the sandbox with exit code 0", rc)
        sb2 = Sandbox(opts.sandbox, state_dir=sb.dir).start()
        try:
            got = ok(sb2, "iam", "get-role-policy", "--role-name", "task-role",
                     "--policy-name", "ssm")
            check(got["PolicyDocument"] == SSM_POLICY, "roles and policies survive a restart")
            who = ok(sb2, "sts", "get-caller-identity", env=dev)
            check(who["Arn"].endswith(":user/dev"), "access keys survive a restart", who)
        finally:
            sb2.kill()
    finally:
        sb.cleanup()
    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
