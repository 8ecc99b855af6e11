#!/usr/bin/env python3
"""Fault injection end to end (issue: proof suites): sessions under duplicated, reordered and
corrupted frames, a 2-second stall, the service's "Bye" close and dropped links, each way;
doctor, enable and exec under 50% API throttling and transient 500s; the sandbox killed with
SIGKILL in the middle of writes restarts with a consistent state."""
import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e", "lib"))
from sandbox_proc import Sandbox, aws, aws_env, wait_for_exec_ready  # noqa: E402
from harness import Checks, Tmux  # noqa: E402

SSM = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
       "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]


def scenario(exec_on=True, role_ok=True):
    statements = [{"Effect": "Allow", "Action": SSM if role_ok else ["s3:GetObject"], "Resource": "*"}]
    return {
        "roles": [{"name": "app-role", "policies": [{"Version": "2012-10-17", "Statement": statements}]}],
        "clusters": [{"name": "f", "capacity": {"fargate": True}}],
        "task_definitions": [{"family": "app", "networkMode": "awsvpc",
                              "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
                              "taskRoleArn": "arn:aws:iam::000000000000:role/app-role",
                              "containerDefinitions": [{"name": "app", "image": "app",
                                                        "command": ["sleep", "100000"]}]}],
        "services": [{"cluster": "f", "name": "app", "task_definition": "app", "desired_count": 1,
                      "launch_type": "FARGATE", "platform_version": "1.4.0",
                      "enable_execute_command": exec_on}],
    }


check = Checks()


def wait_running(sb, agent=True):
    if agent:
        return wait_for_exec_ready(sb, "f", timeout=30)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        rc, out, _ = aws(sb, "ecs", "list-tasks", "--cluster", "f")
        if rc == 0 and out["taskArns"]:
            _, d, _ = aws(sb, "ecs", "describe-tasks", "--cluster", "f", "--tasks", *out["taskArns"])
            running = [t for t in d["tasks"] if t["lastStatus"] == "RUNNING"]
            if running:
                return running[0]
        time.sleep(0.1)
    raise AssertionError("no running task")


def cooked(screen):
    """The pane's line after ECSH_EXIT= names icanon, echo and isig: the terminal is cooked."""
    lines = screen.splitlines()
    for i, line in enumerate(lines):
        if "ECSH_EXIT=" in line and i + 1 < len(lines):
            return {"icanon", "echo", "isig"} <= set(lines[i + 1].split())
    return False


def interactive_in_tmux(opts, sb, name):
    """An interactive `ecsh exec` in tmux; after ecsh ends the pane prints its exit status and
    which of icanon/echo/isig are on (all three: the terminal is cooked again)."""
    env = aws_env()
    env["NO_PROXY"] = "127.0.0.1"
    env["TERM"] = "xterm-256color"
    script = os.path.join(sb.dir, f"pane-{name}.sh")
    with open(script, "w") as f:
        f.write(f"{os.path.abspath(opts.ecsh)} --endpoint-url {sb.url} exec -c f -s app\n"
                "echo ECSH_EXIT=$?\n"
                "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo -e isig | tr '\\n' ' '\n"
                "echo\nsleep 120\n")
    tmux = Tmux(env)
    tmux.start(f"sh {script}")
    if not tmux.wait_for("#", 30):
        check(False, f"interactive, {name}: a shell opens", tmux.screen())
    return tmux


def interactive_endings(opts, sb):
    """Every way an interactive session ends under faults leaves the terminal cooked."""
    # The service's Bye close and dropped links mid-session: the session goes on, then `exit`.
    for name, dc in (("Bye close", {"bye_after_first_output": True}),
                     ("dropped links", {"drop_link_every_frames": 40, "max_link_drops": 3})):
        sb.admin("/_sandbox/faults", {"data_channel": dict(dc, seed=5)})
        tmux = interactive_in_tmux(opts, sb, name.replace(" ", "-"))
        try:
            tmux.keys("seq 1 3000 | tail -n 1; echo mid-$((40+2))", "Enter")
            check(tmux.wait_for("mid-42"), f"interactive, {name}: the session goes on",
                  tmux.screen())
            tmux.keys("exit", "Enter")
            check(tmux.wait_for("ECSH_EXIT=0") and tmux.wait_for("isig") and
                  cooked(tmux.screen()),
                  f"interactive, {name}: exit leaves the terminal cooked", tmux.screen())
        finally:
            tmux.kill()
        sb.admin("/_sandbox/faults", {"data_channel": {}})
    # The session terminated by the service (TerminateSession from elsewhere).
    tmux = interactive_in_tmux(opts, sb, "terminated")
    try:
        rc, out, _ = aws(sb, "ssm", "describe-sessions", "--state", "Active")
        ids = [x["SessionId"] for x in (out or {}).get("Sessions", [])]
        for i in ids:
            aws(sb, "ssm", "terminate-session", "--session-id", i)
        check(bool(ids) and tmux.wait_for("ECSH_EXIT=", 30) and tmux.wait_for("isig") and
              cooked(tmux.screen()),
              "interactive, terminated by the service: ecsh ends, the terminal is cooked",
              tmux.screen())
    finally:
        tmux.kill()


def sandbox_dies_mid_session(opts, sb):
    """The service disappears for good (SIGKILL): ecsh gives up and restores the terminal."""
    tmux = interactive_in_tmux(opts, sb, "killed")
    try:
        sb.proc.send_signal(signal.SIGKILL)
        sb.proc.wait(timeout=10)
        ended = tmux.wait_for("ECSH_EXIT=", 120) and tmux.wait_for("isig")
        screen = tmux.screen()
        check(ended and cooked(screen) and "ECSH_EXIT=0" not in screen,
              "interactive, the service killed: ecsh fails and the terminal is cooked", screen)
    finally:
        tmux.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    ap.add_argument("--megabytes", type=int, default=64)
    opts = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ecsh-faults-")
    size = opts.megabytes << 20

    def ecsh(sb, *args, stdin=subprocess.DEVNULL, timeout=600):
        env = aws_env()
        env["NO_PROXY"] = "127.0.0.1"
        # Standard retries, with enough attempts that half the calls failing is survivable
        # (botocore's default of 3 gives up on 1 call in 8 at this rate).
        env["AWS_MAX_ATTEMPTS"] = "20"
        return subprocess.run([opts.ecsh, "--endpoint-url", sb.url] + list(args), env=env,
                              stdin=stdin, capture_output=True, timeout=timeout)

    blob = os.path.join(work, "blob")
    with open(blob, "wb") as f:
        # No U+FFFD: the SSM agent drops two of its bytes from a session's output (docs/exec.md),
        # and the sandbox's agent does too. U+FFFE is the same length and passes.
        f.write(os.urandom(size).replace(b"\xef\xbf\xbd", b"\xef\xbf\xbe"))
    want = hashlib.sha256(open(blob, "rb").read()).hexdigest()

    sb = Sandbox(opts.sandbox, scenario(), args=["--agent-pacing", "none"]).start()
    try:
        wait_running(sb)
        tgt = ["-c", "f", "-s", "app"]
        faults = {
            "duplicated frames": {"duplicate_rate": 0.05},
            "reordered frames": {"reorder_rate": 0.05},
            "corrupted frames": {"corrupt_rate": 0.01},
            "a 2-second stall": {"stall_ms": 2000},
            "the service's Bye close": {"bye_after_first_output": True},
            "several dropped links": {"drop_link_every_frames": 500, "max_link_drops": 4},
        }
        for name, dc in faults.items():
            dc = dict(dc, seed=11)
            sb.admin("/_sandbox/faults", {"data_channel": dc})
            # Input: the file goes up, its digest comes back.
            with open(blob, "rb") as f:
                p = ecsh(sb, "exec", *tgt, "--", "sha256sum", stdin=f)
            got = p.stdout.decode(errors="replace").split()[:1]
            check(p.returncode == 0 and got == [want],
                  f"{opts.megabytes} MiB in, under {name}: SHA-256 matches",
                  (p.returncode, got, p.stderr[-300:]))
            # Output: the file comes back down byte for byte (the image is this filesystem).
            p = ecsh(sb, "exec", *tgt, "--", "cat", blob)
            check(p.returncode == 0 and hashlib.sha256(p.stdout).hexdigest() == want,
                  f"{opts.megabytes} MiB out, under {name}: SHA-256 matches",
                  (p.returncode, len(p.stdout), p.stderr[-300:]))
        sb.admin("/_sandbox/faults", {"data_channel": {}})

        # API throttling on half the calls and transient 500s: doctor, exec still succeed.
        sb.admin("/_sandbox/faults", {"api": {"throttle_rate": 0.5, "error_rate": 0.05, "seed": 3}})
        p = ecsh(sb, "doctor", *tgt)
        check(p.returncode == 0, "doctor under 50% throttling and transient errors", p.stderr[-400:])
        p = ecsh(sb, "exec", *tgt, "--", "sh", "-c", "echo through; exit 9")
        check(p.returncode == 9 and p.stdout == b"through\n",
              "exec under 50% throttling and transient errors", (p.returncode, p.stderr[-400:]))
        sb.admin("/_sandbox/faults", {"api": {}})

        interactive_endings(opts, sb)
        sandbox_dies_mid_session(opts, sb)
    finally:
        sb.cleanup()

    # enable under throttling, from a world that needs it.
    sb = Sandbox(opts.sandbox, scenario(exec_on=False, role_ok=False), args=["--agent-pacing", "none"]).start()
    try:
        wait_running(sb, agent=False)
        sb.admin("/_sandbox/faults", {"api": {"throttle_rate": 0.5, "error_rate": 0.05, "seed": 5}})
        p = ecsh(sb, "enable", "-c", "f", "-s", "app", "--yes")
        check(p.returncode == 0, "enable under 50% throttling and transient errors",
              (p.stdout[-500:], p.stderr[-400:]))
        p = ecsh(sb, "exec", "-c", "f", "-s", "app", "--", "true")
        check(p.returncode == 0, "exec works after enable under throttling", p.stderr[-300:])
    finally:
        sb.cleanup()

    # SIGKILL during writes: the state file is never torn and the world comes back.
    state_dir = os.path.join(work, "killed")
    os.makedirs(state_dir)
    for round_ in range(3):
        sb = Sandbox(opts.sandbox, scenario(), state_dir=state_dir).start()
        procs = []
        for i in range(4):
            env = aws_env()
            procs.append(subprocess.Popen(
                ["/bin/sh", "-c", "i=0; while [ $i -lt 40 ]; do /usr/bin/aws --endpoint-url " + sb.url +
                 f" iam create-role --role-name r{round_}-{i}-$i --assume-role-policy-document "
                 "'{\"Version\":\"2012-10-17\",\"Statement\":[]}' >/dev/null 2>&1; i=$((i+1)); done"],
                env=env))
        time.sleep(1.5)
        sb.proc.send_signal(signal.SIGKILL)
        sb.proc.wait(timeout=10)
        for p in procs:
            p.kill()
            p.wait()
        with open(os.path.join(state_dir, "state", "state.json")) as f:
            state = json.load(f)
        check(state["version"] == 1 and "iam" in state["modules"],
              f"after SIGKILL #{round_ + 1} mid-writes the state file is whole JSON")
    sb = Sandbox(opts.sandbox, scenario(), state_dir=state_dir).start()
    try:
        rc, out, err = aws(sb, "iam", "list-roles")
        check(rc == 0 and any(r["RoleName"] == "app-role" for r in out["Roles"]),
              "the sandbox restarts from the killed state", err)
        wait_running(sb)
        p = ecsh(sb, "exec", "-c", "f", "-s", "app", "--", "true")
        check(p.returncode == 0, "its services run again and exec works", p.stderr[-300:])
    finally:
        sb.cleanup()
        subprocess.run(["rm", "-rf", work])

    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
