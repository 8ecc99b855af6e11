#!/usr/bin/env python3
"""ecsh against the real amazon-ssm-agent (issue #32): ecsh-sandbox --agent-binaries runs the
agent built from its public source (docs/real-agent.md) in the task's container and acts as its
message gateway; ecsh talks to it exactly as to the built-in model. ECSH_REAL_AGENT_DIR names the
folder with amazon-ssm-agent, ssm-agent-worker and ssm-session-worker; without it the test says
"skipped: no real agent" and exits 77 (skipped for ctest). Needs root (the process runtime's
namespaces, the agent's bind mounts)."""
import argparse
import hashlib
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks  # noqa: E402
from sandbox_proc import Sandbox, aws_env, wait_for_exec_ready  # noqa: E402

SKIP = 77
SSM_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
               "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
BINARIES = ["amazon-ssm-agent", "ssm-agent-worker", "ssm-session-worker"]


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
        "clusters": [{"name": "e2e", "capacity": {"fargate": True}}],
        "task_definitions": [task_def],
        "services": [{"cluster": "e2e", "name": "app", "task_definition": "app",
                      "desired_count": 1, "launch_type": "FARGATE",
                      "platform_version": "1.4.0", "enable_execute_command": True}],
    }


check = Checks()


class Ecsh:
    def __init__(self, binary, sandbox):
        self.binary = binary
        self.sandbox = sandbox

    def run(self, *args, stdin=subprocess.DEVNULL, timeout=120):
        env = aws_env()
        env["NO_PROXY"] = "127.0.0.1"
        cmd = [self.binary, "--endpoint-url", self.sandbox.url] + list(args)
        return subprocess.run(cmd, env=env, stdin=stdin, capture_output=True, timeout=timeout)


def wait_for_agent(e, tgt, timeout=90):
    """The agent opens its control channel a few seconds after the task starts; until then
    ExecuteCommand answers TargetNotConnectedException, as on AWS."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = e.run("exec", *tgt, "--", "true", timeout=60)
        if last.returncode == 0:
            return True
        time.sleep(1)
    print("agent never answered:", last.returncode, last.stderr.decode(errors="replace"))
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()

    agent_dir = os.environ.get("ECSH_REAL_AGENT_DIR", "")
    if not agent_dir or not all(os.path.isfile(os.path.join(agent_dir, b)) for b in BINARIES):
        print("skipped: no real agent (set ECSH_REAL_AGENT_DIR to a folder with the binaries "
              "docs/real-agent.md builds)")
        return SKIP
    if os.geteuid() != 0:
        print("skipped: the real agent needs root (namespaces, bind mounts)")
        return SKIP

    sb = Sandbox(opts.sandbox, scenario=scenario(),
                 args=["--agent-binaries", os.path.abspath(agent_dir)]).start()
    try:
        wait_for_exec_ready(sb, "e2e")
        e = Ecsh(opts.ecsh, sb)
        tgt = ["-c", "e2e", "-s", "app"]
        if not check(wait_for_agent(e, tgt), "the real agent connects and runs `exec -- true`"):
            return check.exit_code()

        p = e.run("exec", *tgt, "--", "echo", "hi")
        check(p.returncode == 0 and p.stdout == b"hi\n", "exec -- echo hi",
              (p.returncode, p.stdout, p.stderr))

        for code in (0, 1, 7):
            p = e.run("exec", *tgt, "--", "sh", "-c", f"exit {code}")
            check(p.returncode == code, f"exit status {code} comes back",
                  (p.returncode, p.stderr.decode(errors="replace")))

        p = e.run("exec", *tgt, "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3")
        check(p.returncode == 3 and p.stdout == b"to-stdout\n" and p.stderr == b"to-stderr\n",
              "stdout and stderr stay apart", (p.returncode, p.stdout, p.stderr))

        p = e.run("exec", *tgt, "--", "cat", "/bin/ls")
        with open("/bin/ls", "rb") as f:
            expected = f.read()
        check(p.returncode == 0 and hashlib.sha256(p.stdout).digest() ==
              hashlib.sha256(expected).digest(), "binary output is byte-exact (cat /bin/ls)",
              (p.returncode, len(p.stdout), len(expected)))

        # docs/exec.md: the agent turns each valid U+FFFD into the single byte EF.
        p = e.run("exec", *tgt, "--", "printf", "a\\357\\277\\275b")
        check(p.returncode == 0 and p.stdout == b"a\xefb",
              "U+FFFD reaches the client as EF (the agent's UTF-8 pass)", (p.returncode, p.stdout))

        data = os.urandom(4 * 1024 * 1024)
        p = subprocess.run([opts.ecsh, "--endpoint-url", sb.url, "exec", *tgt, "--", "sha256sum"],
                           input=data, capture_output=True, timeout=300,
                           env=dict(aws_env(), NO_PROXY="127.0.0.1"))
        check(p.returncode == 0 and p.stdout.split()[:1] == [hashlib.sha256(data).hexdigest()
                                                            .encode()],
              "4 MiB of piped stdin arrive intact", (p.returncode, p.stdout[:100], p.stderr[:300]))
    finally:
        sb.stop()
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
