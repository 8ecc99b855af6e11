#!/usr/bin/env python3
"""`--user USER` end to end against ecsh-sandbox (process runtime, where exec sessions run as root
as ECS Exec's do): `exec` one-shot and interactive, `run` on several tasks, and `cp` both ways
run as the user; an unknown user, and an image with no way to switch users, each fail in one line
with exit status 251 and run nothing.

Needs root (the sandbox's sessions must be root to switch users, as in ECS): exits 77 (skipped)
otherwise."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks, Tmux  # noqa: E402
from sandbox_proc import Sandbox, aws_env, wait_for_exec_ready  # noqa: E402

SSM_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
               "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
RUN_AS_EXIT = 251


def scenario():
    role = {"name": "app-task-role",
            "policies": [{"name": "exec", "document": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": SSM_ACTIONS, "Resource": "*"}]}}]}

    def task_def(family, env=None):
        c = {"name": "app", "image": "app:latest", "essential": True,
             "command": ["/bin/sleep", "100000"]}
        if env:
            c["environment"] = [{"name": k, "value": v} for k, v in env.items()]
        return {"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                "cpu": "256", "memory": "512",
                "taskRoleArn": "arn:aws:iam::000000000000:role/app-task-role",
                "containerDefinitions": [c]}

    def service(cluster, name, count):
        return {"cluster": cluster, "name": name, "task_definition": name, "desired_count": count,
                "launch_type": "FARGATE", "platform_version": "1.4.0",
                "enable_execute_command": True}

    # "bare": an image where no tool to switch users can be found (an empty PATH).
    return {
        "roles": [role],
        "clusters": [{"name": "users", "capacity": {"fargate": True}},
                     {"name": "bare", "capacity": {"fargate": True}}],
        "task_definitions": [task_def("app"), task_def("bare", {"PATH": "/nonexistent-ecsh"})],
        "services": [service("users", "app", 3), service("bare", "bare", 1)],
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
        if isinstance(stdin, bytes):
            return subprocess.run(cmd, env=env, input=stdin, capture_output=True, timeout=timeout)
        return subprocess.run(cmd, env=env, stdin=stdin, capture_output=True, timeout=timeout)


def one_line(stderr):
    text = stderr.decode(errors="replace")
    return text.endswith("\n") and text.count("\n") == 1


def nobody_home():
    with open("/etc/passwd") as f:
        for line in f:
            fields = line.rstrip("\n").split(":")
            if fields[0] == "nobody":
                return fields[5]
    return "/"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    if os.geteuid() != 0:
        print("skipped: the sandbox's exec sessions must run as root to switch users")
        return 77

    work = tempfile.mkdtemp(prefix="ecsh-user-e2e-")
    # The process runtime's containers see this machine's filesystem: a fresh folder that
    # everyone may write to, for files copied in as nobody.
    remote = f"/tmp/ecsh-user-e2e-{uuid.uuid4().hex[:12]}"
    os.makedirs(remote)
    os.chmod(remote, 0o1777)
    sb = Sandbox(opts.sandbox, scenario=scenario(), args=["--agent-pacing", "none"]).start()
    try:
        task = wait_for_exec_ready(sb, "users")
        e = Ecsh(opts.ecsh, sb)
        tgt = ["-c", "users", "-t", task["taskArn"].rsplit("/", 1)[1]]

        # exec, one-shot.
        p = e.run("exec", *tgt, "--user", "nobody", "--", "id", "-u")
        check(p.returncode == 0 and p.stdout == b"65534\n",
              "exec --user nobody -- id -u prints 65534", (p.returncode, p.stdout, p.stderr))
        p = e.run("exec", *tgt, "--", "id", "-u")
        check(p.returncode == 0 and p.stdout == b"0\n", "without --user the command runs as root",
              (p.returncode, p.stdout, p.stderr))
        p = e.run("exec", *tgt, "-u", "65534", "--", "id", "-un")
        check(p.returncode == 0 and p.stdout == b"nobody\n", "-u 65534 (a UID) is nobody",
              (p.returncode, p.stdout, p.stderr))
        p = e.run("exec", *tgt, "--user", "nobody", "--", "sh", "-c",
                  'echo "$HOME $USER $LOGNAME"; echo err >&2; exit 7')
        check(p.returncode == 7 and p.stdout.decode() == f"{nobody_home()} nobody nobody\n" and
              p.stderr == b"err\n",
              "as the user: HOME, USER and LOGNAME are nobody's; stderr and exit status kept",
              (p.returncode, p.stdout, p.stderr))
        # Echoed back through the session's output, where the agent turns a U+FFFD (EF BF BD)
        # into EF (docs/exec.md): 300,000 random bytes hold one about once in 55 runs.
        data = os.urandom(300000)
        while b"\xef\xbf\xbd" in data:
            data = os.urandom(300000)
        p = e.run("exec", *tgt, "--user", "nobody", "--", "sh", "-c", "id -u >&2; cat",
                  stdin=data)
        check(p.returncode == 0 and p.stdout == data and p.stderr == b"65534\n",
              "piped stdin reaches the command run as the user, byte for byte",
              (p.returncode, len(p.stdout), p.stderr[:200]))

        # An unknown user: one line, 251, nothing run.
        marker = os.path.join(remote, "must-not-exist")
        p = e.run("exec", *tgt, "--user", "ecsh-no-such-user", "--", "touch", marker)
        err = p.stderr.decode(errors="replace")
        check(p.returncode == RUN_AS_EXIT and one_line(p.stderr) and p.stdout == b"" and
              'user "ecsh-no-such-user" does not exist in container app of task' in err and
              not os.path.exists(marker),
              "an unknown user fails in one line with exit status 251 and runs nothing",
              (p.returncode, p.stdout, err))
        p = e.run("exec", *tgt, "--user", "a;touch " + marker, "--", "true")
        check(p.returncode == 252 and "--user" in p.stderr.decode() and
              not os.path.exists(marker),
              "a --user that is not a user name is a usage error (252), checked before anything",
              (p.returncode, p.stderr))

        # No way to switch users in the image.
        wait_for_exec_ready(sb, "bare")
        p = e.run("exec", "-c", "bare", "--user", "nobody", "--", "/bin/sh", "-c", ": > " + marker)
        err = p.stderr.decode(errors="replace")
        check(p.returncode == RUN_AS_EXIT and one_line(p.stderr) and
              'cannot run as "nobody" in container app of task' in err and
              "the image has none of setpriv, runuser, su, busybox su, chroot" in err and
              not os.path.exists(marker),
              "an image with no way to switch users fails in one line (251), naming what is "
              "missing", (p.returncode, err))

        # run, on every task of the service.
        p = e.run("--output", "json", "run", "-c", "users", "-s", "app", "--user", "nobody",
                  "--", "id", "-u")
        doc = json.loads(p.stdout or b"{}")
        tasks = doc.get("tasks", [])
        check(p.returncode == 0 and len(tasks) == 3 and
              all(t["stdout"] == "65534\n" and t["exit_code"] == 0 for t in tasks),
              "run --user nobody -- id -u prints 65534 on each of 3 tasks",
              (p.returncode, p.stdout[:600], p.stderr[:300]))
        p = e.run("run", "-c", "users", "-s", "app", "--user", "ecsh-no-such-user", "--",
                  "touch", marker)
        out = p.stdout.decode(errors="replace")
        check(p.returncode == RUN_AS_EXIT and out.count('user "ecsh-no-such-user" does not exist')
              == 3 and not os.path.exists(marker),
              "run with an unknown user: each task's row says so, exit status 251, nothing run",
              (p.returncode, out[-800:], p.stderr[-300:]))

        # cp, both ways.
        local = os.path.join(work, "payload.bin")
        with open(local, "wb") as f:
            f.write(os.urandom(200000))
        p = e.run("cp", *tgt, "-q", "--user", "nobody", local, ":" + remote + "/payload.bin")
        check(p.returncode == 0, "cp --user nobody copies a file in", (p.returncode, p.stderr))
        p = e.run("exec", *tgt, "--", "stat", "-c", "%u %g", remote + "/payload.bin")
        check(p.returncode == 0 and p.stdout.split()[0:1] == [b"65534"],
              "a file copied in with --user nobody is owned by 65534",
              (p.returncode, p.stdout, p.stderr))
        back = os.path.join(work, "back.bin")
        p = e.run("cp", *tgt, "-q", "-u", "nobody", ":" + remote + "/payload.bin", back)
        check(p.returncode == 0 and open(back, "rb").read() == open(local, "rb").read(),
              "cp --user nobody copies it back out unchanged", (p.returncode, p.stderr))
        tree = os.path.join(work, "tree")
        os.makedirs(os.path.join(tree, "sub"))
        with open(os.path.join(tree, "sub", "f.txt"), "w") as f:
            f.write("in a tree\n")
        p = e.run("cp", *tgt, "-q", "-r", "--user", "nobody", tree, ":" + remote + "/")
        q = e.run("exec", *tgt, "--", "stat", "-c", "%u", remote + "/tree", remote + "/tree/sub",
                  remote + "/tree/sub/f.txt")
        check(p.returncode == 0 and q.stdout == b"65534\n65534\n65534\n",
              "cp -r --user nobody: every folder and file copied in is nobody's",
              (p.returncode, p.stderr, q.stdout, q.stderr))

        # The user's permissions, not root's.
        secret = remote + "/root-only"
        p = e.run("exec", *tgt, "--", "sh", "-c", f"echo secret > {secret}; chmod 600 {secret}")
        p = e.run("cp", *tgt, "-q", "--user", "nobody", ":" + secret, os.path.join(work, "s"))
        check(p.returncode != 0 and not os.path.exists(os.path.join(work, "s")) and
              b"ermission denied" in p.stderr,
              "cp --user nobody cannot read a file only root may read",
              (p.returncode, p.stderr))
        p = e.run("cp", *tgt, "-q", "--user", "nobody", local, ":" + secret)
        q = e.run("exec", *tgt, "--", "cat", secret)
        check(p.returncode != 0 and q.stdout == b"secret\n",
              "cp --user nobody cannot replace a file only root may write",
              (p.returncode, p.stderr, q.stdout))
        p = e.run("cp", *tgt, "-q", "--user", "ecsh-no-such-user", local, ":" + remote + "/x")
        check(p.returncode == RUN_AS_EXIT and one_line(p.stderr) and
              not os.path.exists(remote + "/x"),
              "cp with an unknown user fails in one line (251) and writes nothing",
              (p.returncode, p.stderr))

        # The interactive shell, in a real terminal.
        env = aws_env()
        env["NO_PROXY"] = "127.0.0.1"
        env["TERM"] = "xterm-256color"
        for user, name in (("nobody", "ok"), ("ecsh-no-such-user", "unknown")):
            script = os.path.join(work, f"pane-{name}.sh")
            with open(script, "w") as f:
                f.write(f"{os.path.abspath(opts.ecsh)} --endpoint-url {sb.url} exec {' '.join(tgt)}"
                        f" --user {user}\necho ECSH_EXIT=$?\nsleep 60\n")
            tmux = Tmux(env)
            try:
                tmux.start(f"sh {script}")
                if name == "ok":
                    check(tmux.wait_for("$"), "an interactive shell opens as nobody",
                          tmux.screen())
                    tmux.keys("echo uid=$(id -u)-ok", "Enter")
                    check(tmux.wait_for("uid=65534-ok"), "the interactive shell runs as nobody",
                          tmux.screen())
                    tmux.keys("exit", "Enter")
                    check(tmux.wait_for("ECSH_EXIT=0"), "exit ends it with status 0",
                          tmux.screen())
                else:
                    ok = tmux.wait_for("ECSH_EXIT=")
                    screen = tmux.screen()
                    check(ok and f"ECSH_EXIT={RUN_AS_EXIT}" in screen and
                          'ecsh: user "ecsh-no-such-user" does not exist' in screen,
                          "an interactive shell with an unknown user fails with the one-line "
                          "error and 251", screen)
            finally:
                tmux.kill()
    finally:
        sb.stop()
        sb.cleanup()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(remote, ignore_errors=True)
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
