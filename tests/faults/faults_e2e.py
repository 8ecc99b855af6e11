#!/usr/bin/env python3
"""Fault injection end to end (issue: proof suites): sessions under duplicated, reordered and
corrupted frames, a 2-second stall, the service's "Bye" close and dropped links, each way;
64 MiB each way through exec and through forward while the service forces reconnects at random
points (issue #28); doctor, enable and exec under 50% API throttling and transient 500s; the
sandbox killed with SIGKILL in the middle of writes restarts with a consistent state."""
import argparse
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e", "forward"))
from sandbox_proc import Sandbox, aws, aws_env, wait_for_exec_ready  # noqa: E402
from harness import Checks, Tmux  # noqa: E402
from forward_e2e import Forward, download, upload  # noqa: E402

# Under the sanitizers (ASAN_OPTIONS set) every byte costs about ten times more: smaller
# transfers there (dev.sh test-sanitized leaves this suite out; a hand run may not).
SANITIZED = "ASAN_OPTIONS" in os.environ
FORWARD_SERVER = os.path.join(HERE, "..", "e2e", "forward", "forward_server.py")

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
                              # The forward tests' byte server on port 9000 (forward_e2e.py).
                              "containerDefinitions": [{"name": "app", "image": "app",
                                                        "command": ["python3", "-u", FORWARD_SERVER,
                                                                    "9000"]}]}],
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


def links(stderr):
    """How many data-channel links a --debug run opened (the first, then one per resume)."""
    return len(re.findall(r"data channel opened \(link \d+\)", stderr))


def random_forced_reconnects(opts, sb, ecsh, blob, want, work):
    """The service's close 1000 "Bye" at random points (force_reconnect_rate): the whole of
    the blob up and down through exec, and as much down and up through one forward session,
    each across several reconnects, nothing lost or repeated (SHA-256 and length)."""
    mib = min(opts.megabytes, 8) if SANITIZED else opts.megabytes
    size = mib << 20
    tgt = ["-c", "f", "-s", "app"]

    def force(rate, seed, most=12):
        sb.admin("/_sandbox/faults", {"data_channel": {
            "force_reconnect_rate": rate, "max_forced_reconnects": most, "seed": seed}})

    # Rates are per frame the agent sends, for about 8 reconnects spread over 64 MiB (at most 12
    # per session). Up: an acknowledgement per KiB of stdin (~100,000 with the resends). Down:
    # one frame per read of the pty (~16,000).
    force(1 / 12000, 21)
    t0 = time.monotonic()
    with open(blob, "rb") as f:
        p = ecsh(sb, "--debug", "exec", *tgt, "--", "sha256sum", stdin=f)
    took = time.monotonic() - t0
    got = p.stdout.decode(errors="replace").split()[:1]
    err = p.stderr.decode(errors="replace")
    check(p.returncode == 0 and got == [want] and links(err) >= 4,
          f"exec: {mib} MiB of stdin across {links(err) - 1} random forced reconnects, "
          f"SHA-256 matches ({took:.1f} s)", (p.returncode, got, links(err), err[-400:]))
    force(1 / 2000, 22)
    t0 = time.monotonic()
    p = ecsh(sb, "--debug", "exec", *tgt, "--", "cat", blob)
    took = time.monotonic() - t0
    err = p.stderr.decode(errors="replace")
    check(p.returncode == 0 and len(p.stdout) == size and
          hashlib.sha256(p.stdout).hexdigest() == want and links(err) >= 4,
          f"exec: {mib} MiB of output across {links(err) - 1} random forced reconnects, "
          f"byte for byte ({took:.1f} s)", (p.returncode, len(p.stdout), links(err), err[-400:]))

    # Forward: one session, the download then the upload, each through its own connection.
    sb.admin("/_sandbox/faults", {"data_channel": {}})
    env = aws_env()
    env["NO_PROXY"] = "127.0.0.1"
    fw = Forward(opts.ecsh, sb, [*tgt, "-L", "0:9000"], env=env, debug=True, work=work)
    try:
        fw.read_lines(1)
        addr = fw.address("localhost:9000")
        # Down: one frame per read of the connection (~2,000-3,000 frames, their size varies); up: acknowledgements again
        # (the cap counts the session's reconnects so far).
        force(1 / 300, 23)
        t0 = time.monotonic()
        ok_down, n = download(addr, size, 31) if addr else (False, 0)
        down_s = time.monotonic() - t0
        after_down = links(fw.stderr())
        force(1 / 12000, 24, most=24)
        t0 = time.monotonic()
        ok_up, answer = upload(addr, size, 32) if addr else (False, "")
        up_s = time.monotonic() - t0
        sb.admin("/_sandbox/faults", {"data_channel": {}})
        total = links(fw.stderr())
        check(ok_down and after_down >= 4,
              f"forward: {mib} MiB down across {after_down - 1} random forced reconnects, "
              f"SHA-256 and length match ({down_s:.1f} s)",
              (ok_down, n, after_down, fw.stderr()[-400:]))
        check(ok_up and total - after_down >= 3,
              f"forward: {mib} MiB up through the same session across {total - after_down} more, "
              f"SHA-256 matches ({up_s:.1f} s)", (ok_up, answer, total, fw.stderr()[-400:]))
        fw.interrupt()
        check(fw.wait(20) == 130, "forward: Ctrl-C still ends it cleanly after the reconnects",
              fw.stderr()[-300:])
    finally:
        fw.kill()
        sb.admin("/_sandbox/faults", {"data_channel": {}})


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

        random_forced_reconnects(opts, sb, ecsh, blob, want, work)

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
