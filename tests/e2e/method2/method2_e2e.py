#!/usr/bin/env python3
"""Method 2 end to end: `ecsh exec --via ec2` into tasks that run as real Docker containers
(the sandbox's docker runtime), through an SSM session to the container instance and through
the system ssh client (an OpenSSH server on loopback plays the instance).

Two tasks of one service run the same image with two containers each: only the ECS labels tell
them apart. Checked: the right container is reached (its hostname is its container ID), exit
codes, byte-exact stdout, separate stderr, forwarded stdin, interactive shells in tmux, and
`ecsh exec` (auto) on a service with exec disabled: the explanation, then Method 2 with --yes.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import dockerd  # noqa: E402
import sshd  # noqa: E402
from harness import Checks, Tmux  # noqa: E402
from sandbox_proc import Sandbox, aws, aws_env, wait_for_exec_ready  # noqa: E402

INSTANCE = "i-0ec5a0d0000000042"
IMAGE = dockerd.TEST_IMAGE
# The same busybox with a `script` (util-linux's, as far as the agent's lookup goes).
SCRIPT_IMAGE = "ecsh-test/busybox-script:1"
# The same busybox with users: its setpriv cannot switch users, its su can.
USERS_IMAGE = "ecsh-test/busybox-users:1"
USERS_FILES = {
    "etc/passwd": b"root:x:0:0:root:/root:/bin/sh\n"
                  b"app:x:1000:1000:app:/tmp:/bin/sh\n"
                  b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": b"root:x:0:\napp:x:1000:\nnogroup:x:65534:\n",
}
AUDIT_GROUP = "/ecs/exec-audit"
NO_SSM_INFO_KEY, NO_SSM_INFO_SECRET = "AKIAECSHNOSSMINFO001", "no-ssm-info-secret"
check = Checks()


def scenario():
    sleep = ["sleep", "2147483647"]
    return {
        # Allowed everything but telling whether an instance takes SSM sessions.
        "users": [{"name": "no-ssm-info", "access_key_id": NO_SSM_INFO_KEY,
                   "secret_access_key": NO_SSM_INFO_SECRET,
                   "policies": [{"name": "p", "document": {"Version": "2012-10-17", "Statement": [
                       {"Effect": "Allow", "Action": "*", "Resource": "*"},
                       {"Effect": "Deny", "Action": "ssm:DescribeInstanceInformation",
                        "Resource": "*"}]}}]}],
        "roles": [{"name": "operator",
                   "assume_role_policy": {"Version": "2012-10-17", "Statement": [
                       {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
                        "Action": "sts:AssumeRole"}]},
                   "policies": [{"name": "all", "document": {"Version": "2012-10-17", "Statement": [
                       {"Effect": "Allow", "Action": "*", "Resource": "*"}]}}]},
                  {"name": "instance-role",
                   "assume_role_policy": {"Version": "2012-10-17", "Statement": [
                       {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole"}]},
                   "policies": [{"name": "ssm", "document": {"Version": "2012-10-17", "Statement": [
                       {"Effect": "Allow", "Action": ["ssmmessages:*", "logs:*"],
                        "Resource": "*"}]}}]}],
        "clusters": [
            {"name": "prod", "container_instances": [
                {"instance_id": INSTANCE, "private_ip": "127.0.0.1",
                 "instance_role_arn": "arn:aws:iam::000000000000:role/instance-role"}]},
            {"name": "legacy", "container_instances": [
                {"instance_id": "i-0ec5a0d0000000043", "private_ip": "127.0.0.1",
                 "ssm_managed": False}]},
            {"name": "audit", "container_instances": [
                {"instance_id": "i-0ec5a0d0000000044", "private_ip": "127.0.0.1",
                 "instance_role_arn": "arn:aws:iam::000000000000:role/instance-role"}],
             "execute_command_configuration": {
                 "logging": "OVERRIDE",
                 "logConfiguration": {"cloudWatchLogGroupName": AUDIT_GROUP}}}],
        "log_groups": [AUDIT_GROUP],
        "task_definitions": [
            {"family": "api", "requiresCompatibilities": ["EC2"], "containerDefinitions": [
                {"name": "app", "image": IMAGE, "command": sleep, "essential": True},
                {"name": "sidecar", "image": IMAGE, "command": sleep, "essential": True}]},
            {"family": "scripted", "requiresCompatibilities": ["EC2"], "containerDefinitions": [
                {"name": "app", "image": SCRIPT_IMAGE, "command": sleep, "essential": True}]},
            # The container runs as app; ECS Exec sessions run as root all the same.
            {"family": "users", "requiresCompatibilities": ["EC2"], "containerDefinitions": [
                {"name": "app", "image": USERS_IMAGE, "command": sleep, "essential": True,
                 "user": "app"}]},
            {"family": "ghost", "requiresCompatibilities": ["EC2"], "containerDefinitions": [
                {"name": "app", "image": "ecsh-test/not-imported:1", "command": sleep}]}],
        "services": [
            {"cluster": "prod", "name": "api", "task_definition": "api", "desired_count": 2,
             "launch_type": "EC2", "enable_execute_command": False},
            {"cluster": "audit", "name": "plain", "task_definition": "api", "desired_count": 1,
             "launch_type": "EC2", "enable_execute_command": True},
            {"cluster": "audit", "name": "scripted", "task_definition": "scripted",
             "desired_count": 1, "launch_type": "EC2", "enable_execute_command": True},
            {"cluster": "audit", "name": "users", "task_definition": "users",
             "desired_count": 1, "launch_type": "EC2", "enable_execute_command": True},
            {"cluster": "legacy", "name": "old", "task_definition": "api", "desired_count": 1,
             "launch_type": "EC2", "enable_execute_command": False}],
    }


def call(sb, *args):
    """The AWS CLI's parsed answer; a failed call ends the test."""
    rc, out, err = aws(sb, *args)
    if rc != 0:
        raise RuntimeError(f"aws {' '.join(args)}: rc={rc} {err}")
    return out


def wait_for_tasks(sb, cluster, n, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        arns = call(sb, "ecs", "list-tasks", "--cluster", cluster)["taskArns"]
        if len(arns) >= n:
            tasks = call(sb, "ecs", "describe-tasks", "--cluster", cluster, "--tasks", *arns)["tasks"]
            if all(t["lastStatus"] == "RUNNING" for t in tasks):
                return tasks
        time.sleep(0.2)
    raise RuntimeError(f"{n} tasks of {cluster} did not reach RUNNING")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    if not dockerd.available() or not sshd.available():
        print("SKIP: needs root, dockerd (docker.io), busybox-static and openssh-server")
        return 77
    ecsh = os.path.abspath(opts.ecsh)
    engine = dockerd.Dockerd().start()
    sb = ssh = tmux = None
    try:
        engine.import_busybox()
        engine.import_busybox(SCRIPT_IMAGE, {"bin/script": b"#!/bin/sh\nexit 0\n"})
        engine.import_busybox(USERS_IMAGE, USERS_FILES)
        sb = Sandbox(opts.sandbox, scenario=scenario(),
                     args=["--runtime", "docker", "--docker-host", engine.host,
                           "--agent-pacing", "none"]).start()
        ssh = sshd.Sshd(env={"DOCKER_HOST": engine.host}).start()
        env = aws_env()
        env["NO_PROXY"] = "127.0.0.1"
        env.pop("DOCKER_HOST", None)

        tasks = wait_for_tasks(sb, "prod", 2)
        task = tasks[0]
        task_id = task["taskArn"].rsplit("/", 1)[1]
        app = [c for c in task["containers"] if c["name"] == "app"][0]
        # The sandbox's containers are real, labelled as the ECS agent labels them.
        labelled = engine.containers(filters={"label": [
            "com.amazonaws.ecs.task-arn=" + task["taskArn"],
            "com.amazonaws.ecs.container-name=app"]})
        check(len(labelled) == 1 and labelled[0]["Id"] == app["runtimeId"],
              "the task's container runs in Docker with the ECS labels and runtimeId",
              f"{labelled} vs {app['runtimeId']}")
        same_image = engine.containers(filters={"ancestor": [IMAGE]})
        check(len(same_image) >= 4, "several containers share the image (labels must decide)",
              str(len(same_image)))
        expected_host = app["runtimeId"][:12]

        ssh_args = ["--ssh", "--ssh-user", "root", "-i", ssh.client_key]
        for o in ssh.client_options():
            ssh_args += ["--ssh-option", o]
        base = [ecsh, "--endpoint-url", sb.url, "exec", "-c", "prod", "-t", task_id, "-n", "app"]
        with open("/bin/busybox", "rb") as f:
            busybox_sha = hashlib.sha256(f.read()).hexdigest()
        stdin_data = os.urandom(3 * 1024 * 1024 + 17)

        for name, via in (("SSM", ["--via", "ec2"]), ("ssh", ["--via", "ec2"] + ssh_args)):
            r = subprocess.run(base + via + ["--", "sh", "-c", "hostname; echo oops >&2; exit 7"],
                               env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
            check(r.returncode == 7 and r.stdout == (expected_host + "\n").encode(),
                  f"{name}: the command runs in the task's own container, exit code 7",
                  f"rc={r.returncode} out={r.stdout!r} err={r.stderr!r}")
            check(r.stderr.endswith(b"oops\n") and b"oops" not in r.stdout,
                  f"{name}: stderr stays apart from stdout", repr(r.stderr))
            r = subprocess.run(base + via + ["--", "cat", "/bin/busybox"], env=env,
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
            check(r.returncode == 0 and hashlib.sha256(r.stdout).hexdigest() == busybox_sha,
                  f"{name}: binary stdout is byte-exact ({len(r.stdout)} bytes)",
                  f"rc={r.returncode} err={r.stderr[-300:]!r}")
            r = subprocess.run(base + via + ["--", "sha256sum"], env=env, input=stdin_data,
                               capture_output=True, timeout=120)
            check(r.returncode == 0 and
                  r.stdout.split()[:1] == [hashlib.sha256(stdin_data).hexdigest().encode()],
                  f"{name}: piped stdin reaches the container byte-exact",
                  f"rc={r.returncode} out={r.stdout[:100]!r} err={r.stderr[-300:]!r}")

        # Interactive, in a real terminal, by both ways.
        tenv = dict(env, TERM="xterm-256color")
        for name, via in (("SSM", ["--via", "ec2"]), ("ssh", ["--via", "ec2"] + ssh_args)):
            script = os.path.join(sb.dir, f"pane-{name}.sh")
            with open(script, "w") as f:
                f.write(" ".join(subprocess.list2cmdline([a]) for a in base + via) + "\n"
                        "echo ECSH_EXIT=$?\n"
                        "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo | tr '\\n' ' '\n"
                        "echo\nsleep 60\n")
            tmux = Tmux(tenv)
            tmux.start(f"sh {script}")
            check(tmux.wait_for("#", 30), f"{name}: an interactive shell opens in the container",
                  tmux.screen())
            tmux.keys("echo in-$(hostname)-$((6*7))", "Enter")
            check(tmux.wait_for(f"in-{expected_host}-42"),
                  f"{name}: typed commands run in the task's container", tmux.screen())
            tmux.keys("exit", "Enter")
            check(tmux.wait_for("ECSH_EXIT=0"), f"{name}: exit ends ecsh with status 0",
                  tmux.screen())
            check(tmux.wait_for("icanon echo"), f"{name}: the terminal is cooked again",
                  tmux.screen())
            tmux.kill()
            tmux = None

        # Denied ssm:DescribeInstanceInformation: ecsh cannot tell SSM from ssh, and says so
        # instead of guessing ssh to an address the user may not reach.
        denied_env = dict(env, AWS_ACCESS_KEY_ID=NO_SSM_INFO_KEY,
                          AWS_SECRET_ACCESS_KEY=NO_SSM_INFO_SECRET)
        r = subprocess.run(base + ["--via", "ec2", "--", "hostname"], env=denied_env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        err = r.stderr.decode()
        check(r.returncode == 254 and "AccessDenied" in err and
              "ssm:DescribeInstanceInformation" in err and "--ssh" in err and
              "using ssh" not in err and r.stdout == b"",
              "DescribeInstanceInformation denied: AWS's error and the --ssh way out, no guess",
              f"rc={r.returncode} out={r.stdout!r} err={err}")

        # --via auto on a service with exec disabled: why, then (with --yes) Method 2.
        auto = [ecsh, "--endpoint-url", sb.url, "exec", "-c", "prod", "-t", task_id, "-n", "app",
                "--", "hostname"]
        r = subprocess.run(auto, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=60)
        err = r.stderr.decode()
        check(r.returncode == 252 and "without enableExecuteCommand" in err and "--yes" in err
              and r.stdout == b"",
              "auto without a terminal: explains why ECS Exec is impossible, does nothing",
              f"rc={r.returncode} err={err}")
        r = subprocess.run(auto[:1] + ["--yes"] + auto[1:], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60)
        check(r.returncode == 0 and r.stdout == (expected_host + "\n").encode() and
              "Method 2" in r.stderr.decode(),
              "auto with --yes: gets in through the instance",
              f"rc={r.returncode} out={r.stdout!r} err={r.stderr!r}")

        # ... and on a terminal it asks, and goes ahead on "y".
        script = os.path.join(sb.dir, "pane-auto.sh")
        with open(script, "w") as f:
            f.write(" ".join(subprocess.list2cmdline([a]) for a in auto[:-1]) +
                    " sh -c 'echo via-$(hostname)'\necho ECSH_EXIT=$?\nsleep 60\n")
        tmux = Tmux(tenv)
        tmux.start(f"sh {script}")
        check(tmux.wait_for("Get in through the instance? [y/N]", 30),
              "auto on a terminal: asks before using Method 2", tmux.screen())
        tmux.keys("y", "Enter")
        check(tmux.wait_for(f"via-{expected_host}") and tmux.wait_for("ECSH_EXIT=0"),
              "auto on a terminal: after 'y' the command runs in the task's container",
              tmux.screen())
        tmux.kill()
        tmux = None

        # ssh (and whatever it runs, e.g. a ProxyCommand) never sees the AWS secrets: an `ssh`
        # first on PATH records its argv and environment, then runs the real one.
        spy_dir = os.path.join(sb.dir, "spy")
        os.makedirs(spy_dir)
        record = os.path.join(spy_dir, "record")
        real_ssh = shutil.which("ssh")
        with open(os.path.join(spy_dir, "ssh"), "w") as f:
            f.write(f"#!/bin/sh\n{{ printf '%s\\n' \"$@\"; env; }} >>{record}\n"
                    f"exec {real_ssh} \"$@\"\n")
        os.chmod(os.path.join(spy_dir, "ssh"), 0o755)
        creds = call(sb, "sts", "assume-role", "--role-arn",
                     "arn:aws:iam::000000000000:role/operator", "--role-session-name",
                     "spy")["Credentials"]
        spy_env = dict(env, PATH=spy_dir + ":" + env.get("PATH", "/usr/bin:/bin"),
                       AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
                       AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                       AWS_SESSION_TOKEN=creds["SessionToken"])
        r = subprocess.run(base + ["--via", "ec2"] + ssh_args + ["--", "true"], env=spy_env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        seen = open(record).read() if os.path.exists(record) else ""
        # PATH= shows that the environment was recorded; the access key ID goes too (alone it
        # would break an `aws ssm start-session` ProxyCommand with partial credentials).
        check(r.returncode == 0 and "PATH=" in seen and creds["SecretAccessKey"] not in seen and
              creds["SessionToken"] not in seen and creds["AccessKeyId"] not in seen,
              "ssh's argv and environment carry no AWS credentials",
              f"rc={r.returncode} err={r.stderr!r} recorded={len(seen)} bytes")

        # ECS Exec itself into docker-runtime containers, once exec is on and redeployed.
        call(sb, "ecs", "update-service", "--cluster", "prod", "--service", "api",
             "--enable-execute-command", "--force-new-deployment")
        ready = wait_for_exec_ready(sb, "prod", timeout=90)
        r = subprocess.run([ecsh, "--endpoint-url", sb.url, "exec", "-c", "prod", "-t",
                            ready["taskArn"].rsplit("/", 1)[1], "-n", "app", "--via", "ecs", "--",
                            "sh", "-c", "hostname; exit 3"],
                           env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        new_app = [c for c in ready["containers"] if c["name"] == "app"][0]
        check(r.returncode == 3 and r.stdout.decode().strip() == new_app["runtimeId"][:12],
              "ECS Exec reaches a docker-runtime container after enable + redeploy",
              f"rc={r.returncode} out={r.stdout!r} err={r.stderr!r}")

        # The old task was replaced: its labelled container is gone, and the other containers
        # from the same image belong to other tasks. No fallback to the image then.
        end = time.monotonic() + 30
        while time.monotonic() < end:
            old_task = call(sb, "ecs", "describe-tasks", "--cluster", "prod", "--tasks",
                            task["taskArn"])["tasks"][0]
            if old_task["lastStatus"] == "STOPPED" and not engine.containers(
                    filters={"label": ["com.amazonaws.ecs.task-arn=" + task["taskArn"]]}):
                break
            time.sleep(0.2)
        r = subprocess.run(base + ["--via", "ec2", "--", "hostname"], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        check(r.returncode != 0 and r.stdout == b"" and b"no running container" in r.stderr,
              "a task whose container is gone is not confused with another task's",
              f"rc={r.returncode} out={r.stdout!r} err={r.stderr!r}")

        # An instance without SSM: ssh is used, and said so.
        old = wait_for_tasks(sb, "legacy", 1)[0]
        r = subprocess.run([ecsh, "--endpoint-url", sb.url, "exec", "-c", "legacy", "-t",
                            old["taskArn"].rsplit("/", 1)[1], "-n", "sidecar", "--via", "ec2",
                            "--ssh-user", "root", "-i", ssh.client_key] +
                           sum([["--ssh-option", o] for o in ssh.client_options()], []) +
                           ["--", "hostname"], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60)
        sidecar = [c for c in old["containers"] if c["name"] == "sidecar"][0]
        check(r.returncode == 0 and r.stdout.decode().strip() == sidecar["runtimeId"][:12] and
              "not an SSM managed instance" in r.stderr.decode(),
              "an instance without SSM is reached by ssh, and ecsh says so",
              f"rc={r.returncode} out={r.stdout!r} err={r.stderr!r}")

        # Session logging needs `script` in the image (aws/amazon-ssm-agent#653): the session
        # works either way; the transcript lands only from the image that has it.
        for service, lands in (("plain", False), ("scripted", True)):
            wait_for_exec_ready(sb, "audit", timeout=60)
            marker = f"audit-{service}-{os.getpid()}"
            r = subprocess.run([ecsh, "--endpoint-url", sb.url, "exec", "-c", "audit", "-s",
                                service, "-n", "app", "--via", "ecs", "--", "echo", marker],
                               env=env,
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
            found = False
            end = time.monotonic() + 10
            while r.returncode == 0 and time.monotonic() < end and not found:
                ev = call(sb, "logs", "filter-log-events", "--log-group-name", AUDIT_GROUP)
                found = any(marker in e.get("message", "") for e in ev.get("events", []))
                if not found:
                    time.sleep(0.5 if lands else 2)
            check(r.returncode == 0 and r.stdout.decode().strip() == marker and found == lands,
                  f"session logging, image {'with' if lands else 'without'} script: the session "
                  f"works and the transcript {'lands' if lands else 'does not land'}",
                  f"rc={r.returncode} out={r.stdout!r} found={found} err={r.stderr[-300:]!r} "
                  f"sandbox: {sb.stderr_text()[-600:]}")

        # --user in a busybox image (busybox's setpriv fails, its su works), by every way in.
        users = ["exec", "-c", "audit", "-s", "users"]
        for name, extra in (("ECS Exec", ["--via", "ecs"]), ("SSM", ["--via", "ec2"]),
                            ("ssh", ["--via", "ec2"] + ssh_args)):
            r = subprocess.run([ecsh, "--endpoint-url", sb.url] + users + extra +
                               ["--user", "nobody", "--", "id", "-u"], env=env,
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
            check(r.returncode == 0 and r.stdout == b"65534\n",
                  f"{name}: --user nobody -- id -u prints 65534 in a busybox image",
                  f"rc={r.returncode} out={r.stdout!r} err={r.stderr[-300:]!r}")
        r = subprocess.run([ecsh, "--endpoint-url", sb.url] + users + ["--", "id", "-u"], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        check(r.returncode == 0 and r.stdout == b"0\n",
              "ECS Exec runs as root in a container whose definition names another user",
              f"rc={r.returncode} out={r.stdout!r} err={r.stderr[-300:]!r}")
        r = subprocess.run([ecsh, "--endpoint-url", sb.url] + users +
                           ["--user", "ecsh-no-such-user", "--", "id", "-u"], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        check(r.returncode == 251 and r.stderr.count(b"\n") == 1 and
              b'user "ecsh-no-such-user" does not exist' in r.stderr,
              "an unknown user in a busybox image: one line, exit status 251",
              f"rc={r.returncode} err={r.stderr[-300:]!r}")
        local = os.path.join(sb.dir, "user-payload.txt")
        with open(local, "w") as f:
            f.write("copied as nobody\n")
        r = subprocess.run([ecsh, "--endpoint-url", sb.url, "cp", "-c", "audit", "-s", "users",
                            "-q", "--user", "nobody", local, ":/tmp/user-payload.txt"], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        s = subprocess.run([ecsh, "--endpoint-url", sb.url] + users +
                           ["--", "stat", "-c", "%u", "/tmp/user-payload.txt"], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        check(r.returncode == 0 and s.stdout == b"65534\n",
              "cp --user nobody into a busybox image: the file is nobody's",
              f"rc={r.returncode} err={r.stderr[-300:]!r} stat={s.stdout!r} {s.stderr!r}")

        # A missing image fails the task as ECS does.
        run = call(sb, "ecs", "run-task", "--cluster", "prod", "--task-definition", "ghost",
                  "--launch-type", "EC2")
        ghost_arn = run["tasks"][0]["taskArn"]
        reason = ""
        end = time.monotonic() + 30
        while time.monotonic() < end and not reason:
            t = call(sb, "ecs", "describe-tasks", "--cluster", "prod", "--tasks", ghost_arn)
            if t["tasks"][0]["lastStatus"] == "STOPPED":
                reason = t["tasks"][0].get("stoppedReason", "")
            time.sleep(0.2)
        check(reason.startswith("CannotPullContainerError"),
              "a task whose image is not in the engine stops with CannotPullContainerError", reason)
        # ecsh why explains it.
        r = subprocess.run([ecsh, "--endpoint-url", sb.url, "why", "-c", "prod", "-t", ghost_arn],
                           env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        text = r.stdout.decode(errors="replace")
        check("its image could not be pulled (CannotPullContainerError)" in text and
              all(len(line) <= 80 for line in text.splitlines()),
              "ecsh why: the image could not be pulled, within 80 columns",
              f"rc={r.returncode} out={text[-600:]!r} err={r.stderr[-300:]!r}")
        r = subprocess.run([ecsh, "--endpoint-url", sb.url, "--output", "json", "why", "-c", "prod",
                            "-t", ghost_arn], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60)
        check(r.returncode in (0, 1) and b"CannotPullContainerError" in r.stdout and
              json.loads(r.stdout or b"null") is not None,
              "ecsh why --output json names CannotPullContainerError",
              f"rc={r.returncode} out={r.stdout[-300:]!r} err={r.stderr[-300:]!r}")
    finally:
        if tmux:
            tmux.kill()
        if ssh:
            ssh.stop()
        if sb:
            sb.stop()
        engine.stop()
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
