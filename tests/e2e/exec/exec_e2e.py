#!/usr/bin/env python3
"""`ecsh exec` end to end against ecsh-sandbox (process runtime): exit codes, byte-exact binary
output, separate stderr, 64 MiB of piped stdin, a session that survives dropped links, a
KMS-encrypted session, and ecsh as the session-manager-plugin of the real AWS CLI."""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks  # noqa: E402
from sandbox_proc import Sandbox, aws, aws_env, AWS_CLI, wait_for_exec_ready  # noqa: E402,F401

SSM_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
               "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
KMS_KEY_ID = "0b5e7c1a-0000-4000-8000-00000000e2e5"
KMS_KEY_ARN = f"arn:aws:kms:us-east-1:000000000000:key/{KMS_KEY_ID}"


def scenario():
    role = {"name": "app-task-role",
            "policies": [{"name": "exec", "document": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": SSM_ACTIONS, "Resource": "*"},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}}]}
    task_def = {"family": "app", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                "cpu": "256", "memory": "512",
                "taskRoleArn": "arn:aws:iam::000000000000:role/app-task-role",
                "containerDefinitions": [{"name": "app", "image": "app:latest", "essential": True,
                                          "command": ["sleep", "100000"]}]}
    return {
        "roles": [role],
        "kms_keys": [{"id": KMS_KEY_ID, "region": "us-east-1"}],
        "clusters": [{"name": "e2e", "capacity": {"fargate": True}},
                     {"name": "secure", "capacity": {"fargate": True},
                      "execute_command_configuration": {"kmsKeyId": KMS_KEY_ARN,
                                                        "logging": "DEFAULT"}}],
        "task_definitions": [task_def],
        "services": [
            {"cluster": "e2e", "name": "app", "task_definition": "app", "desired_count": 1,
             "launch_type": "FARGATE", "platform_version": "1.4.0",
             "enable_execute_command": True},
            {"cluster": "secure", "name": "app", "task_definition": "app", "desired_count": 1,
             "launch_type": "FARGATE", "platform_version": "1.4.0",
             "enable_execute_command": True}],
    }


check = Checks()


class Ecsh:
    def __init__(self, binary, sandbox):
        self.binary = binary
        self.sandbox = sandbox

    def run(self, *args, stdin=subprocess.DEVNULL, timeout=300):
        env = aws_env()
        env["NO_PROXY"] = "127.0.0.1"
        cmd = [self.binary, "--endpoint-url", self.sandbox.url] + list(args)
        return subprocess.run(cmd, env=env, stdin=stdin, capture_output=True, timeout=timeout)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    ap.add_argument("--pacing", default="none", choices=["none", "realistic"])
    opts = ap.parse_args()

    work = tempfile.mkdtemp(prefix="ecsh-exec-e2e-")
    sb = Sandbox(opts.sandbox, scenario=scenario(), args=["--agent-pacing", opts.pacing]).start()
    try:
        task = wait_for_exec_ready(sb, "e2e")
        e = Ecsh(opts.ecsh, sb)
        tgt = ["-c", "e2e", "-s", "app"]

        for code in (0, 1, 7, 255):
            p = e.run("exec", *tgt, "--", "sh", "-c", f"exit {code}")
            check(p.returncode == code, f"exit status {code} comes back as ecsh's exit status",
                  (p.returncode, p.stderr.decode(errors="replace")))

        p = e.run("exec", *tgt, "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3")
        check(p.returncode == 3 and p.stdout == b"to-stdout\n" and p.stderr == b"to-stderr\n",
              "stdout and stderr stay apart, byte for byte", (p.returncode, p.stdout, p.stderr))

        p = e.run("exec", *tgt, "--", "cat", "/bin/ls")
        with open("/bin/ls", "rb") as f:
            expected = f.read()
        check(p.returncode == 0 and hashlib.sha256(p.stdout).hexdigest() ==
              hashlib.sha256(expected).hexdigest(),
              "binary output is byte-exact (cat /bin/ls)", (p.returncode, len(p.stdout), len(expected)))

        big = os.path.join(work, "stdin.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(64 * 1024 * 1024))
        with open(big, "rb") as f:
            p = e.run("exec", *tgt, "--", "sha256sum", stdin=f, timeout=900)
        check(p.returncode == 0 and p.stdout.decode().split()[0:1] == [sha256_file(big)],
              f"piped stdin of {os.path.getsize(big) >> 20} MiB arrives intact (sha256)",
              (p.returncode, p.stdout[:200], p.stderr[:300]))

        # Three dropped links in the middle of a transfer: nothing lost, nothing duplicated.
        sb.admin("/_sandbox/faults", {"data_channel": {"drop_link_every_frames": 300,
                                                        "max_link_drops": 3}})
        p = e.run("exec", *tgt, "--", "head", "-c", "4194304", "/bin/ls", "/bin/cat", "/bin/sh")
        sb.admin("/_sandbox/faults", {"data_channel": {}})
        local_expected = subprocess.run(["head", "-c", "4194304", "/bin/ls", "/bin/cat", "/bin/sh"],
                                        capture_output=True).stdout
        check(p.returncode == 0 and p.stdout == local_expected,
              "a session survives three dropped links with every byte in order",
              (p.returncode, len(p.stdout), len(local_expected), p.stderr[-300:]))

        # KMS: the cluster's exec key encrypts the session.
        wait_for_exec_ready(sb, "secure")
        p = e.run("exec", "-c", "secure", "-s", "app", "--", "sh", "-c", "echo encrypted-ok")
        check(p.returncode == 0 and p.stdout == b"encrypted-ok\n",
              "a KMS-encrypted session runs a command", (p.returncode, p.stdout, p.stderr))

        # ecsh as session-manager-plugin for the real AWS CLI.
        bindir = os.path.join(work, "bin")
        os.makedirs(bindir)
        os.symlink(os.path.abspath(opts.ecsh), os.path.join(bindir, "session-manager-plugin"))
        env = aws_env()
        env["PATH"] = bindir + ":" + env.get("PATH", "/usr/bin:/bin")
        env["NO_PROXY"] = "127.0.0.1"
        cp = subprocess.run([AWS_CLI, "--endpoint-url", sb.url, "ecs", "execute-command",
                             "--cluster", "e2e", "--task", task["taskArn"], "--container", "app",
                             "--interactive", "--command", "echo hello-from-plugin"],
                            env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        out = cp.stdout.decode(errors="replace")
        check(cp.returncode == 0 and "hello-from-plugin" in out and
              "Starting session with SessionId" in out,
              "aws ecs execute-command runs with ecsh as its session-manager-plugin",
              (cp.returncode, out[-500:], cp.stderr.decode(errors="replace")[-500:]))

        p = e.run("exec", "-c", "e2e", "-t", "nosuchtask", "--", "true")
        check(p.returncode == 252 and b"task" in p.stderr,
              "an unknown task is a usage error that says so", (p.returncode, p.stderr))
    finally:
        sb.cleanup()
        subprocess.run(["rm", "-rf", work])
    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
