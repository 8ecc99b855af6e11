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
import re
import shutil
import tempfile
import urllib.request
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks, Tmux  # noqa: E402
from sandbox_proc import AWS_CLI, Sandbox, aws, aws_env, wait_for_exec_ready  # noqa: E402

SKIP = 77
SSM_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
               "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
BINARIES = ["amazon-ssm-agent", "ssm-agent-worker", "ssm-session-worker"]
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
                                                        "logging": "NONE"}}],
        "task_definitions": [task_def],
        "services": [{"cluster": c, "name": "app", "task_definition": "app",
                      "desired_count": 1, "launch_type": "FARGATE",
                      "platform_version": "1.4.0", "enable_execute_command": True}
                     for c in ("e2e", "secure")],
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

        work = tempfile.mkdtemp(prefix="ecsh-real-agent-e2e-")
        try:
            more_sessions(e, sb, tgt, opts, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    finally:
        sb.stop()
    return check.exit_code()


def more_sessions(e, sb, tgt, opts, work):
    env = dict(aws_env(), NO_PROXY="127.0.0.1")

    # cp both ways: checksummed end to end.
    src = os.path.join(work, "src.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(300 * 1024) + "\ufffd".encode() * 100)
    p = e.run("cp", *tgt, src, ":/tmp/real-agent-cp.bin")
    check(p.returncode == 0, "cp to the container", (p.returncode, p.stderr[-300:]))
    back = os.path.join(work, "back.bin")
    p = e.run("cp", *tgt, ":/tmp/real-agent-cp.bin", back)
    check(p.returncode == 0 and open(back, "rb").read() == open(src, "rb").read(),
          "cp back from the container, byte-exact (U+FFFD included)", (p.returncode, p.stderr[-300:]))

    # run: the fleet command on the service's task.
    p = e.run("run", "-c", "e2e", "-s", "app", "--", "echo", "fleet")
    check(p.returncode == 0 and b"| fleet" in p.stdout, "run -- echo fleet",
          (p.returncode, p.stdout[-300:], p.stderr[-300:]))

    # KMS-encrypted session (the cluster's exec key): handshake, challenge, AES-GCM.
    p = e.run("exec", "-c", "secure", "-s", "app", "--", "sh", "-c", "echo sealed; exit 4")
    check(p.returncode == 4 and p.stdout == b"sealed\n", "a KMS-encrypted session",
          (p.returncode, p.stdout, p.stderr[-300:]))

    # A dropped link: the client resumes with ResumeSession, nothing lost or duplicated. While no
    # client is connected the agent is paused and keeps its output; after start_publication it
    # resends the backlog one message per 100 ms, and once the command ends it drains for only
    # 2 s (docs/real-agent.md §2.6): the command outlives the recovery (at most 60 messages).
    sb.admin("/_sandbox/faults", {"data_channel": {"drop_link_every_frames": 100,
                                                    "max_link_drops": 1}})
    p = e.run("exec", *tgt, "--", "sh", "-c", "head -c 163840 /bin/ls; sleep 12")
    sb.admin("/_sandbox/faults", {"data_channel": {}})
    with open("/bin/ls", "rb") as f:
        expected = f.read(163840)
    check(p.returncode == 0 and p.stdout == expected, "a session resumes after a dropped link",
          (p.returncode, len(p.stdout), len(expected), p.stderr[-300:]))

    # The official CLI with ecsh as its session-manager-plugin.
    plug = os.path.join(work, "plugin")
    os.makedirs(plug)
    os.symlink(os.path.abspath(opts.ecsh), os.path.join(plug, "session-manager-plugin"))
    rc, tasks, _ = aws(sb, "ecs", "list-tasks", "--cluster", "e2e")
    penv = dict(env, PATH=plug + ":" + env.get("PATH", "/usr/bin:/bin"))
    p = subprocess.run([AWS_CLI, "--endpoint-url", sb.url, "ecs", "execute-command", "--cluster",
                        "e2e", "--task", tasks["taskArns"][0], "--interactive", "--command",
                        "echo via-plugin"], env=penv, capture_output=True, timeout=120)
    check(p.returncode == 0 and b"via-plugin" in p.stdout, "aws ecs execute-command (plugin mode)",
          (p.returncode, p.stdout[-300:], p.stderr[-300:]))

    # Port forwarding (mux, ecsh's ClientVersion) to a server in the task.
    p = e.run("exec", *tgt, "--", "sh", "-c",
              "setsid sandbox-httpd --port 8080 --body real-agent </dev/null >/dev/null 2>&1 &"
              " sleep 0.5")
    fwd = subprocess.Popen([opts.ecsh, "--endpoint-url", sb.url, "forward", *tgt, "-L", "0:8080"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, text=True)
    try:
        line = fwd.stdout.readline()
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        bodies = []
        for _ in range(3):
            if m:
                with urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/", timeout=10) as r:
                    bodies.append(r.read())
        check(bodies == [b"real-agent"] * 3, "forward (mux): three connections through one session",
              (line, bodies))
    finally:
        fwd.terminate()
        fwd.wait(timeout=20)

    # Port basic mode: AWS-StartSSHSession (no "type"), stdin/stdout as the stream, through the
    # official CLI with ecsh as its plugin.
    rc, desc, _ = aws(sb, "ecs", "describe-tasks", "--cluster", "e2e", "--tasks",
                      tasks["taskArns"][0])
    task = desc["tasks"][0]
    runtime_id = [c["runtimeId"] for c in task["containers"] if c["name"] == "app"][0]
    target = f"ecs:e2e_{task['taskArn'].rsplit('/', 1)[1]}_{runtime_id}"
    # stdin stays open a little after the request (EOF would end the stream before the answer).
    p = subprocess.run(["/bin/sh", "-c", "(printf 'GET / HTTP/1.0\\r\\n\\r\\n'; sleep 3) | "
                        "\"$0\" \"$@\"", AWS_CLI, "--endpoint-url", sb.url, "ssm",
                        "start-session", "--target", target, "--document-name",
                        "AWS-StartSSHSession", "--parameters", "portNumber=8080"],
                       env=penv, capture_output=True, timeout=120)
    check(b"real-agent" in p.stdout, "Port basic mode (AWS-StartSSHSession, plugin mode)",
          (p.returncode, p.stdout[-300:], p.stderr[-300:]))

    # An interactive shell in a real terminal: prompt, echo, the window's size, exit.
    tmux = Tmux(env, cols=90, rows=25)
    try:
        tmux.start(" ".join([opts.ecsh, "--endpoint-url", sb.url, "exec", *tgt]) +
                   "; echo EXITED=$?; sleep 30")
        check(tmux.wait_for(":/#"), "interactive: the shell's prompt", tmux.screen())
        tmux.keys("stty size; echo $TERM", "Enter")
        check(tmux.wait_for("25 90") and tmux.wait_for("xterm-256color"),
              "interactive: keystrokes, output and the terminal's size", tmux.screen())
        tmux.keys("exit", "Enter")
        check(tmux.wait_for("EXITED=0"), "interactive: exit ends ecsh with 0", tmux.screen())
    finally:
        tmux.kill()


if __name__ == "__main__":
    sys.exit(main())
