#!/usr/bin/env python3
"""`ecsh docker ps` and `ecsh docker exec` against a private Docker Engine (tests/e2e/lib/dockerd.py):
listing with filters and the ECS label columns, exec with separate stdout/stderr and the exit
code, byte-exact output and stdin, a missing container, an interactive -it session in tmux
(typing, a resize, `exit 3`, the terminal cooked again), and an engine that is not there.

Exits 77 (skipped) when this machine cannot run a private engine (not root, no dockerd or no
busybox-static); the checks that need no engine run first either way.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import dockerd  # noqa: E402
from harness import Checks, Tmux  # noqa: E402

SKIP = 77
TASK_A = "arn:aws:ecs:us-east-1:123456789012:task/e2e/0a1b2c3d4e5f4a5b8c9d0e1f2a3b4c5d"
TASK_B = "arn:aws:ecs:us-east-1:123456789012:task/e2e/99998888777766665555444433332222"
TASK_LABEL = "com.amazonaws.ecs.task-arn"
NAME_LABEL = "com.amazonaws.ecs.container-name"

check = Checks()


class Ecsh:
    def __init__(self, binary, env):
        self.binary = os.path.abspath(binary)
        self.env = env

    def run(self, *args, input=None, stdin=None, env=None, timeout=120):
        return subprocess.run([self.binary] + list(args), input=input, stdin=stdin,
                              capture_output=True, env=env or self.env, timeout=timeout)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def no_engine_checks(ecsh):
    """DOCKER_HOST at a socket that is not there, and a tcp:// host."""
    env = dict(os.environ)
    env["DOCKER_HOST"] = "unix:///tmp/ecsh-no-engine-%s/docker.sock" % uuid.uuid4().hex[:8]
    for args in (["docker", "ps"], ["docker", "exec", "web", "true"]):
        r = ecsh.run(*args, env=env)
        err = r.stderr.decode(errors="replace")
        lines = err.strip().splitlines()
        check(r.returncode != 0 and len(lines) == 1 and "Is Docker running?" in err and
              env["DOCKER_HOST"] in err and "DOCKER_HOST=unix:///path" in err,
              "a missing engine socket: non-zero and one line saying what to do (%s)" %
              " ".join(args), f"rc={r.returncode} stderr={err!r}")
    env["DOCKER_HOST"] = "tcp://127.0.0.1:2375"
    r = ecsh.run("docker", "ps", env=env)
    err = r.stderr.decode(errors="replace")
    check(r.returncode != 0 and "not supported" in err and "tcp://127.0.0.1:2375" in err,
          "DOCKER_HOST=tcp:// is refused with a clear message", f"rc={r.returncode} {err!r}")


def ps_checks(ecsh, engine, ids):
    r = ecsh.run("docker", "ps")
    out = r.stdout.decode()
    lines = out.splitlines()
    check(r.returncode == 0 and lines and lines[0].split()[:3] == ["CONTAINER", "ID", "IMAGE"],
          "docker ps prints a table", out + r.stderr.decode())
    for name in ("e2e-web", "e2e-sidecar", "e2e-worker"):
        row = [l for l in lines if name in l]
        check(len(row) == 1 and ids[name][:12] in row[0] and dockerd.TEST_IMAGE in row[0],
              f"docker ps lists the running container {name} (12-char ID, image)", out)
    check("e2e-stopped" not in out, "docker ps leaves out stopped containers", out)
    web = [l for l in lines if "e2e-web" in l]
    check(web and TASK_A.rsplit("/", 1)[1] in web[0] and web[0].split()[-1] == "web",
          "the TASK and CONTAINER columns come from the ECS labels", out)
    header = lines[0] if lines else ""
    check("TASK" in header and "CONTAINER" in header.split("NAMES")[-1],
          "the table has TASK and CONTAINER columns", header)

    r = ecsh.run("docker", "ps", "-a")
    check(r.returncode == 0 and b"e2e-stopped" in r.stdout, "docker ps -a lists stopped ones too",
          r.stdout.decode())

    r = ecsh.run("docker", "ps", "--filter", f"label={NAME_LABEL}=web", "--format", "json")
    try:
        rows = json.loads(r.stdout)
    except ValueError:
        rows = None
    check(r.returncode == 0 and isinstance(rows, list) and len(rows) == 1 and
          rows[0]["id"] == ids["e2e-web"] and rows[0]["names"] == ["e2e-web"] and
          rows[0]["ecs_container"] == "web" and
          rows[0]["ecs_task"] == TASK_A.rsplit("/", 1)[1] and
          rows[0]["labels"].get(TASK_LABEL) == TASK_A,
          "--filter label=…container-name=web picks the one container among several of the "
          "same image", r.stdout.decode() + r.stderr.decode())

    r = ecsh.run("docker", "ps", "-f", f"label={TASK_LABEL}={TASK_A}", "--format", "json")
    names = sorted(n for row in json.loads(r.stdout or b"[]") for n in row["names"])
    check(r.returncode == 0 and names == ["e2e-sidecar", "e2e-web"],
          "filtering on the task ARN label gives the task's containers", str(names))

    r = ecsh.run("docker", "ps", "--filter", f"label={NAME_LABEL}=web", "--filter",
                 "status=running", "--filter", f"label={TASK_LABEL}={TASK_B}", "--format", "json")
    check(r.returncode == 0 and json.loads(r.stdout or b"[1]") == [],
          "several filters are all applied", r.stdout.decode())

    r = ecsh.run("--output", "json", "docker", "ps", "-f", "name=e2e-worker")
    check(r.returncode == 0 and [row["names"] for row in json.loads(r.stdout or b"[]")] ==
          [["e2e-worker"]], "--output json applies to docker ps", r.stdout.decode())

    r = ecsh.run("docker", "ps", "--filter", "nonsense")
    check(r.returncode == 252 and b"KEY=VALUE" in r.stderr, "a filter without = is a usage error",
          f"rc={r.returncode} {r.stderr!r}")

    r = ecsh.run("docker", "ps", "--filter", "colour=blue")
    check(r.returncode != 0 and b"colour" in r.stderr,
          "the engine's own error for a bad filter is shown", f"rc={r.returncode} {r.stderr!r}")


def exec_checks(ecsh, engine, ids):
    r = ecsh.run("docker", "exec", "e2e-web", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
    check(r.returncode == 7 and r.stdout == b"out\n" and r.stderr == b"err\n",
          "exec: stdout and stderr apart, and the command's exit code",
          f"rc={r.returncode} out={r.stdout!r} err={r.stderr!r}")

    r = ecsh.run("docker", "exec", ids["e2e-worker"][:12], "sh", "-c", "echo $((6*7)); exit 0")
    check(r.returncode == 0 and r.stdout == b"42\n", "exec by ID prefix, no --",
          f"rc={r.returncode} {r.stdout!r} {r.stderr!r}")

    r = ecsh.run("docker", "exec", ids["e2e-sidecar"], "ls", "-d", "/bin")
    check(r.returncode == 0 and r.stdout == b"/bin\n",
          "exec by full ID; the command's options are not ecsh's", f"{r.stdout!r} {r.stderr!r}")

    with open(dockerd.BUSYBOX, "rb") as f:
        host_busybox = f.read()
    r = ecsh.run("docker", "exec", "e2e-web", "cat", "/bin/busybox")
    check(r.returncode == 0 and len(r.stdout) == len(host_busybox) and
          sha256(r.stdout) == sha256(host_busybox),
          "cat /bin/busybox through exec is byte-exact (sha256)",
          f"rc={r.returncode} got {len(r.stdout)} bytes, want {len(host_busybox)}")

    data = os.urandom(4 * 1024 * 1024 + 17)
    r = ecsh.run("docker", "exec", "-i", "e2e-web", "sha256sum", input=data)
    check(r.returncode == 0 and r.stdout.split()[:1] == [sha256(data).encode()],
          "-i forwards 4 MiB of stdin byte-exact (sha256sum in the container)",
          f"rc={r.returncode} {r.stdout!r} {r.stderr!r}")

    r = ecsh.run("docker", "exec", "-i", "e2e-web", "cat", input=data)
    check(r.returncode == 0 and r.stdout == data, "-i: 4 MiB in and the same 4 MiB out",
          f"rc={r.returncode} got {len(r.stdout)} bytes")

    with tempfile.NamedTemporaryFile() as f:
        f.write(data[:1000000])
        f.flush()
        with open(f.name, "rb") as stdin:
            r = ecsh.run("docker", "exec", "-i", "e2e-web", "wc", "-c", stdin=stdin)
    check(r.returncode == 0 and r.stdout.strip() == b"1000000",
          "-i with stdin from a file (wc -c)", f"rc={r.returncode} {r.stdout!r} {r.stderr!r}")

    r = ecsh.run("docker", "exec", "-i", "e2e-web", "cat", stdin=subprocess.DEVNULL)
    check(r.returncode == 0 and r.stdout == b"", "-i with /dev/null: the command sees EOF",
          f"rc={r.returncode} {r.stdout!r} {r.stderr!r}")

    r = ecsh.run("docker", "exec", "e2e-web", "cat", input=b"not forwarded", timeout=30)
    check(r.returncode == 0 and r.stdout == b"",
          "without -i stdin is not forwarded (the command's stdin is empty)",
          f"rc={r.returncode} {r.stdout!r}")

    r = ecsh.run("docker", "exec", "-e", "A=one two", "-e", "B", "-w", "/tmp", "-u", "1000:1000",
                 "e2e-web", "sh", "-c", 'echo "$A|$B|$(pwd)|$(id -u):$(id -g)"',
                 env=dict(ecsh.env, B="from-here"))
    check(r.returncode == 0 and r.stdout == b"one two|from-here|/tmp|1000:1000\n",
          "-e K=V, -e K (local value), -w and -u", f"{r.stdout!r} {r.stderr!r}")

    r = ecsh.run("docker", "exec", "nosuch", "true")
    err = r.stderr.decode(errors="replace")
    check(r.returncode == 252 and "No such container: nosuch" in err,
          "exec into a missing container: 252 and the engine's message",
          f"rc={r.returncode} {err!r}")

    r = ecsh.run("docker", "exec", "e2e-stopped", "true")
    err = r.stderr.decode(errors="replace")
    check(r.returncode != 0 and "is not running" in err,
          "exec into a stopped container: non-zero and the engine's message",
          f"rc={r.returncode} {err!r}")

    r = ecsh.run("docker", "exec", "e2e-web", "/no/such/program")
    check(r.returncode in (126, 127), "a command that cannot run: 126/127 as docker gives",
          f"rc={r.returncode} {r.stdout!r} {r.stderr!r}")

    r = ecsh.run("docker", "exec", "e2e-web")
    check(r.returncode == 252 and b"command" in r.stderr, "exec with no command is a usage error",
          f"rc={r.returncode} {r.stderr!r}")

    r = ecsh.run("docker", "exec", "-it", "e2e-web", "true", input=b"")
    check(r.returncode == 252 and b"not a TTY" in r.stderr,
          "-it with stdin that is not a terminal is refused as docker does",
          f"rc={r.returncode} {r.stderr!r}")

    r = ecsh.run("docker", "exec", "-t", "e2e-web", "sh", "-c", "tty; stty size; echo done")
    out = r.stdout.decode(errors="replace")
    check(r.returncode == 0 and "/dev/pts/" in out and "done\r\n" in out,
          "-t without a local terminal: the command still gets a pty", f"{out!r} {r.stderr!r}")


def tmux_checks(ecsh, engine):
    env = dict(ecsh.env)
    env["TERM"] = "xterm-256color"
    script = os.path.join(engine.dir, "pane.sh")
    with open(script, "w") as f:
        f.write(f"{ecsh.binary} docker exec -it e2e-web sh\n"
                "echo ECSH_EXIT=$?\n"
                "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo -e isig | tr '\\n' ' '\n"
                "echo\n"
                "sleep 60\n")
    tmux = Tmux(env)
    try:
        tmux.start(f"sh {script}")
        check(tmux.wait_for("/ #"), "-it opens a shell in the container", tmux.screen())
        tmux.keys("echo hi-$((6*7))", "Enter")
        check(tmux.wait_for("hi-42"), "typed commands run in the container", tmux.screen())
        tmux.keys("stty size", "Enter")
        check(tmux.wait_for("30 100"), "the container's pty starts at the terminal's size",
              tmux.screen())
        tmux.run("resize-window", "-t", "0", "-x", "120", "-y", "40")
        time.sleep(0.5)
        tmux.keys("stty size", "Enter")
        check(tmux.wait_for("40 120"), "stty size follows a tmux resize", tmux.screen())
        tmux.keys("sleep 100", "Enter")
        time.sleep(0.5)
        tmux.keys("C-c")
        tmux.keys("echo after-$((1+1))-ctrl-c", "Enter")
        check(tmux.wait_for("after-2-ctrl-c"), "Ctrl-C goes to the container, not to ecsh",
              tmux.screen())
        tmux.keys("exit 3", "Enter")
        check(tmux.wait_for("ECSH_EXIT=3"), "exit 3 ends ecsh with status 3", tmux.screen())
        check(tmux.wait_for("isig icanon echo"), "the terminal is cooked again after the session",
              tmux.screen()[-600:])
        tmux.kill()

        # Docker's detach keys end the session: on engines that can detach from an exec ecsh says
        # "detached" and exits 0 while the shell goes on; Docker 20.10 instead ends the exec
        # ("exec attach failed: … read escape sequence", 126). Either way the terminal is back.
        tmux = Tmux(env)
        tmux.start(f"sh {script}")
        check(tmux.wait_for("/ #"), "a second -it session opens", tmux.screen())
        tmux.keys("C-p", "C-q")
        detached = tmux.wait_for("ECSH_EXIT=")
        screen = tmux.screen()
        check(detached and (("detached" in screen and "ECSH_EXIT=0" in screen) or
                            "read escape sequence" in screen),
              "Ctrl-P Ctrl-Q ends the session as the engine decides", screen)
        check(tmux.wait_for("isig icanon echo"), "the terminal is cooked again after Ctrl-P Ctrl-Q",
              tmux.screen()[-600:])
    finally:
        tmux.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    opts = ap.parse_args()
    ecsh = Ecsh(opts.ecsh, dict(os.environ))
    no_engine_checks(ecsh)
    if not dockerd.available():
        print("skipped: a private Docker Engine needs root, %s and %s" % (dockerd.DOCKERD,
                                                                         dockerd.BUSYBOX))
        return check.exit_code() or SKIP

    engine = dockerd.Dockerd()
    try:
        engine.start()
        engine.import_busybox()
        ids = {}
        sleeper = ["sleep", "3600"]
        ids["e2e-web"] = engine.run(dockerd.TEST_IMAGE, sleeper, name="e2e-web",
                                    labels={TASK_LABEL: TASK_A, NAME_LABEL: "web"})
        ids["e2e-sidecar"] = engine.run(dockerd.TEST_IMAGE, sleeper, name="e2e-sidecar",
                                        labels={TASK_LABEL: TASK_A, NAME_LABEL: "log-router"})
        ids["e2e-worker"] = engine.run(dockerd.TEST_IMAGE, sleeper, name="e2e-worker",
                                       labels={TASK_LABEL: TASK_B, NAME_LABEL: "worker"})
        ids["e2e-stopped"] = engine.run(dockerd.TEST_IMAGE, ["true"], name="e2e-stopped")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if not engine.containers(filters={"name": ["e2e-stopped"]}):
                break
            time.sleep(0.1)
        ecsh.env = engine.env()
        ps_checks(ecsh, engine, ids)
        exec_checks(ecsh, engine, ids)
        tmux_checks(ecsh, engine)
    except Exception as e:  # report, then clean up
        check(False, "the test ran to the end", repr(e) + "\n" + engine.log_tail())
    finally:
        engine.stop()
    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
