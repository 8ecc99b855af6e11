#!/usr/bin/env python3
"""ecsh-sandbox end to end with the real AWS CLI v2 (/usr/bin/aws): STS, IAM, SigV4 failures,
policy enforcement, temporary credentials, persistence across restarts, injected throttling."""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
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

failures = []


def check(cond, what, detail=""):
    print(("ok   " if cond else "FAIL ") + what + ("" if cond else f"\n     {detail}"))
    if not cond:
        failures.append(what)


def ok(sb, *args, env=None):
    rc, out, err = aws(sb, *args, env=env)
    if rc != 0:
        raise AssertionError(f"aws {' '.join(args)} failed ({rc}): {err}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sandbox", required=True)
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
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
