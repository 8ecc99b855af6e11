#!/usr/bin/env python3
"""Sessions that last (issue #28): the service's forced reconnects (`--connection-max-age`) lose
and repeat nothing for a one-shot command (ecsh's own, and the real AWS CLI's with ecsh as its
session-manager-plugin), `run`, `cp` and an interactive shell; a silent drop
(the link goes quiet without closing) is noticed and resumed within seconds; and every way a
session is ended by something else than its command says so in one line with its own exit code:
Session Manager's idle timeout (247) and maximum session duration (248), the task stopping (249),
the session terminated elsewhere (250). A session that ends takes its command with it."""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks, Tmux, wait  # noqa: E402
from sandbox_proc import AWS_CLI, Sandbox, aws, aws_env  # noqa: E402
from exec_e2e import SSM_ACTIONS  # noqa: E402


def scenario():
    role = {"name": "app-task-role",
            "policies": [{"name": "exec", "document": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": SSM_ACTIONS, "Resource": "*"}]}}]}
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
                      "desired_count": 2, "launch_type": "FARGATE",
                      "platform_version": "1.4.0", "enable_execute_command": True}],
    }


check = Checks()


def env():
    e = aws_env()
    e["NO_PROXY"] = "127.0.0.1"
    return e


def ecsh(opts, sb, *args, timeout=120, stdin=subprocess.DEVNULL):
    cmd = [opts.ecsh, "--endpoint-url", sb.url, *args]
    return subprocess.run(cmd, env=env(), stdin=stdin, capture_output=True, timeout=timeout)


def start(opts, sb, *args):
    cmd = [opts.ecsh, "--endpoint-url", sb.url, *args]
    return subprocess.Popen(cmd, env=env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def exec_ready_task(sb, count=1):
    """`-c e2e -t ID` of an exec-ready task, once `count` tasks are exec-ready (bounded wait)."""
    def ready():
        rc, out, _ = aws(sb, "ecs", "list-tasks", "--cluster", "e2e")
        if rc != 0 or not out["taskArns"]:
            return None
        rc, d, _ = aws(sb, "ecs", "describe-tasks", "--cluster", "e2e", "--tasks", *out["taskArns"])
        ids = [t["taskArn"].rsplit("/", 1)[1] for t in d.get("tasks", [])
               if t["lastStatus"] == "RUNNING" and all(
                   a["lastStatus"] == "RUNNING"
                   for c in t["containers"] for a in c.get("managedAgents", []))]
        return ids if len(ids) >= count else None
    return ["-c", "e2e", "-t", wait(ready, "exec-ready tasks", timeout=60)[0]]


def links(stderr):
    """How many data-channel links a --debug run opened."""
    return len(re.findall(rb"data channel opened \(link \d+\)", stderr))


def one_line(stderr):
    """The error's first line, as a user sees it."""
    lines = [x for x in stderr.decode(errors="replace").splitlines() if x.startswith("ecsh: ")]
    return lines[0] if lines else ""


def running_sleepers(marker):
    """Processes of the sandbox's containers still running `sleep <marker>` (read only)."""
    p = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    return [x for x in p.stdout.split() if x.strip()]


def forced_reconnects(opts, work):
    """--connection-max-age 2: the service closes every link after 2 s with close 1000 "Bye"."""
    sb = Sandbox(opts.sandbox, scenario(), args=["--connection-max-age", "2"]).start()
    try:
        TGT = exec_ready_task(sb, 2)
        # An 8-command one-shot that takes 8 s: every line once, in order, exit 0.
        script = "for i in 1 2 3 4 5 6 7 8; do echo line $i; sleep 1; done"
        t0 = time.monotonic()
        p = ecsh(opts, sb, "--debug", "exec", *TGT, "--", "sh", "-c", script)
        took = time.monotonic() - t0
        want = "".join(f"line {i}\n" for i in range(1, 9)).encode()
        check(p.returncode == 0 and p.stdout == want,
              "an 8 s one-shot across forced reconnects prints every line once and exits 0",
              (p.returncode, p.stdout[-200:], p.stderr[-400:]))
        check(links(p.stderr) >= 4,
              f"... and it really was reconnected ({links(p.stderr)} links in {took:.1f} s)",
              p.stderr[-400:])

        # The real AWS CLI with ecsh as its session-manager-plugin: a 6 s one-shot `--command`
        # across the same closes prints every line once (ECSH_DEBUG: the plugin's links).
        bindir = os.path.join(work, "plugin-bin")
        os.makedirs(bindir)
        os.symlink(os.path.abspath(opts.ecsh), os.path.join(bindir, "session-manager-plugin"))
        penv = env()
        penv["PATH"] = bindir + ":" + penv.get("PATH", "/usr/bin:/bin")
        penv["ECSH_DEBUG"] = "1"
        t0 = time.monotonic()
        cp = subprocess.run([AWS_CLI, "--endpoint-url", sb.url, "ecs", "execute-command",
                             "--cluster", "e2e", "--task", TGT[-1], "--container", "app",
                             "--interactive", "--command",
                             "sh -c 'for i in 1 2 3 4 5 6; do echo plugin-line $i; sleep 1; done'"],
                            env=penv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        took = time.monotonic() - t0
        out = cp.stdout.decode(errors="replace")
        got = re.findall(r"plugin-line \d+", out)
        check(cp.returncode == 0 and got == [f"plugin-line {i}" for i in range(1, 7)],
              "aws ecs execute-command with ecsh as its plugin: a 6 s --command across forced "
              "reconnects prints every line once, in order",
              (cp.returncode, out[-500:], cp.stderr[-500:]))
        check(links(cp.stderr) >= 3,
              f"... across {links(cp.stderr) - 1} reconnects of the plugin ({took:.1f} s)",
              cp.stderr[-500:])

        # 4 MiB of stdin through the same forced reconnects (held back by a sleeping reader).
        blob = os.urandom(4 << 20)
        src = os.path.join(work, "in.bin")
        with open(src, "wb") as f:
            f.write(blob)
        with open(src, "rb") as f:
            p = ecsh(opts, sb, "exec", *TGT, "--", "sh", "-c", "sleep 3; sha256sum; sleep 2",
                     stdin=f)
        check(p.returncode == 0 and hashlib.sha256(blob).hexdigest().encode() in p.stdout,
              "stdin forwarded across forced reconnects arrives intact (SHA-256)",
              (p.returncode, p.stdout[-200:], p.stderr[-300:]))

        # cp both ways across reconnects: the copier's sessions resume too.
        p = ecsh(opts, sb, "cp", *TGT, src, ":/tmp/forced.bin", timeout=180)
        back = os.path.join(work, "back.bin")
        q = ecsh(opts, sb, "cp", *TGT, ":/tmp/forced.bin", back, timeout=180)
        same = os.path.exists(back) and open(back, "rb").read() == blob
        check(p.returncode == 0 and q.returncode == 0 and same,
              "cp up and down across forced reconnects: the file comes back identical",
              (p.returncode, p.stderr[-300:], q.returncode, q.stderr[-300:]))

        # run on every task, each a 5 s command: every task's result.
        p = ecsh(opts, sb, "run", "-c", "e2e", "-s", "app", "--",
                 "sh", "-c", "sleep 2; echo half; sleep 3; echo done")
        out = p.stdout.decode(errors="replace")
        check(p.returncode == 0 and out.count("done") == 2 and out.count("half") == 2,
              "run across forced reconnects gets every task's whole output",
              (p.returncode, out[-400:], p.stderr[-300:]))

        # An interactive shell in a real terminal: commands typed over 8 s, screen intact.
        tmux = Tmux(env())
        try:
            tmux.start(f"{os.path.abspath(opts.ecsh)} --endpoint-url {sb.url} exec {' '.join(TGT)}"
                       "; echo ECSH_EXIT=$?; sleep 60")
            tmux.wait_for("#", timeout=30)
            for i in range(4):
                tmux.keys(f"echo typed-{i}-$((6*7))", "Enter")
                tmux.wait_for(f"typed-{i}-42", timeout=20)
                time.sleep(2.2)
            tmux.keys("exit", "Enter")
            tmux.wait_for("ECSH_EXIT=", timeout=20)
            screen = tmux.screen()
            outputs = [ln.strip() for ln in screen.splitlines()]
            check(all(outputs.count(f"typed-{i}-42") == 1 for i in range(4))
                  and "ECSH_EXIT=0" in screen,
                  "an interactive shell keeps working across forced reconnects, screen intact",
                  screen[-800:])
        finally:
            tmux.kill()
    finally:
        sb.cleanup()


def silent_drop(opts):
    """The link stops carrying anything without closing: ecsh's pings go unanswered, it declares
    the link dead and resumes within 10 s (the official plugin hangs: plugin#47)."""
    sb = Sandbox(opts.sandbox, scenario(), args=["--agent-pacing", "none"]).start()
    try:
        TGT = exec_ready_task(sb)
        sb.admin("/_sandbox/faults",
                 {"data_channel": {"silent_drop_after_frames": 4, "max_silent_drops": 1}})
        script = "for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.5; done"
        t0 = time.monotonic()
        p = ecsh(opts, sb, "--debug", "exec", *TGT, "--", "sh", "-c", script, timeout=60)
        took = time.monotonic() - t0
        want = "".join(f"tick {i}\n" for i in range(1, 7)).encode()
        check(p.returncode == 0 and p.stdout == want and links(p.stderr) >= 2,
              "a silently dropped link is noticed and resumed; nothing lost or repeated",
              (p.returncode, p.stdout[-200:], p.stderr[-400:]))
        # 3 s of command; the drop is noticed 8 s after the last frame at most.
        check(took < 3 + 10, f"... within 10 s of the drop ({took:.1f} s in all)", took)
    finally:
        sb.cleanup()


def left_alone(opts, sb, tgt):
    """An interactive shell in tmux that nobody types into, until ecsh ends; the screen, with
    ECSH_EXIT=<its exit status> after it."""
    tmux = Tmux(env())
    try:
        tmux.start(f"{os.path.abspath(opts.ecsh)} --endpoint-url {sb.url} exec {' '.join(tgt)}"
                   "; echo ECSH_EXIT=$?; sleep 60")
        tmux.wait_for("ECSH_EXIT=", timeout=30)
        return tmux.screen()
    finally:
        tmux.kill()


def endings(opts):
    """Each ending: one line naming the cause and what to do, and its own exit code."""
    sb = Sandbox(opts.sandbox, scenario(),
                 args=["--agent-pacing", "none", "--session-idle-timeout", "2"]).start()
    try:
        TGT = exec_ready_task(sb)
        p = ecsh(opts, sb, "exec", *TGT, "--", "sleep", "4242")
        line = one_line(p.stderr)
        check(p.returncode == 247 and "idle timeout" in line and "without input" in line,
              "the idle timeout: exit 247, says so", (p.returncode, p.stderr[-300:]))
        check("cannot be changed" in p.stderr.decode(), "... and what to do", p.stderr[-300:])
        time.sleep(0.5)
        check(not running_sleepers(4242), "... and its command does not outlive the session",
              running_sleepers(4242))

        # An interactive shell left alone: the same, after the terminal is given back.
        screen = left_alone(opts, sb, TGT)
        check("ECSH_EXIT=247" in screen and "idle timeout" in screen,
              "an idle interactive shell: exit 247 with the cause", screen[-600:])
    finally:
        sb.cleanup()

    sb = Sandbox(opts.sandbox, scenario(),
                 args=["--agent-pacing", "none", "--session-max-duration", "2"]).start()
    try:
        TGT = exec_ready_task(sb)
        p = start(opts, sb, "exec", *TGT, "--", "sh", "-c", "while :; do echo busy; sleep 0.2; done")
        out, err = p.communicate(timeout=30)
        line = one_line(err)
        check(p.returncode == 248 and "maximum session duration" in line,
              "the maximum session duration: exit 248, says so (even while busy)",
              (p.returncode, err[-300:]))

        # The preference as AWS keeps it (whole minutes), read by the real AWS CLI.
        rc, doc, err = aws(sb, "ssm", "get-document", "--name", "SSM-SessionManagerRunShell")
        content = json.loads(doc["Content"]) if rc == 0 else {}
        check(content.get("inputs", {}).get("maxSessionDuration") == "1",
              "aws ssm get-document shows the preference (maxSessionDuration in minutes)",
              (rc, doc, err[-300:]))
        # An interactive session knows the limit and warns a minute before (here: at once).
        screen = left_alone(opts, sb, TGT)
        check("ends this session in" in screen and "ECSH_EXIT=248" in screen,
              "an interactive session warns before its maximum duration, then exits 248",
              screen[-600:])
    finally:
        sb.cleanup()

    sb = Sandbox(opts.sandbox, scenario(), args=["--agent-pacing", "none"]).start()
    try:
        tid = exec_ready_task(sb)[-1]
        # Terminated elsewhere: another person's TerminateSession.
        p = start(opts, sb, "exec", "-c", "e2e", "-t", tid, "--", "sleep", "4343")

        def active():
            rc, out, _ = aws(sb, "ssm", "describe-sessions", "--state", "Active")
            return [s["SessionId"] for s in (out or {}).get("Sessions", [])] if rc == 0 else []

        ids = wait(active, "an active session", timeout=20)
        rc, _, err = aws(sb, "ssm", "terminate-session", "--session-id", ids[0])
        out, err = p.communicate(timeout=30)
        line = one_line(err)
        check(p.returncode == 250 and "ended from outside ecsh" in line,
              "a session terminated elsewhere: exit 250, says so", (p.returncode, err[-300:]))

        # The task stops under the session.
        p = start(opts, sb, "exec", "-c", "e2e", "-t", tid, "--", "sleep", "4444")
        wait(active, "an active session", timeout=20)
        rc, _, err = aws(sb, "ecs", "stop-task", "--cluster", "e2e", "--task", tid,
                         "--reason", "stopped by the e2e test")
        out, err = p.communicate(timeout=60)
        line = one_line(err)
        check(p.returncode == 249 and f"task {tid} stopped" in line
              and "stopped by the e2e test" in line,
              "the task stopping under the session: exit 249 with ECS's reason",
              (p.returncode, err[-300:]))
    finally:
        sb.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecsh-endings-") as work:
        forced_reconnects(opts, work)
    silent_drop(opts)
    endings(opts)
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
