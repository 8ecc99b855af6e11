#!/usr/bin/env python3
"""Child-process hygiene: every process ecsh starts, found by tracing (strace -f), not by guessing
which ones exist, gets neither the secret access key, nor the session token, nor a session's
stream token in its argv or its environment; neither does ecsh's own argv, nor its --debug log.

ecsh runs with temporary credentials from STS AssumeRole against the sandbox (a real secret key
and session token in its environment) in each scenario:

- `ecsh demo`: starts ecsh-sandbox (which starts the demo's tasks);
- `ecsh --debug exec -- CMD` by ECS Exec: starts no process at all;
- `ecsh exec --via ec2 --ssh`: runs the system ssh client (twice: lookup, then the command),
  against an OpenSSH server on loopback and a private Docker engine; SKIP when those are missing;
- a profile with `credential_process`: the credential process runs without a shell, its command
  line split into argv as botocore splits it. With no secret in ecsh's environment, none reaches
  it (the credentials it prints stay out of every argv and environment). With the environment's keys present and `--profile` chosen, the
  credential process inherits ecsh's environment as it is, keys included, exactly as the AWS CLI
  passes its own environment to it (compared with /usr/bin/aws under the same trace): ecsh adds
  nothing, the user's environment reaches the user's own helper.

The stream token is read off the wire: the trace also records what ecsh's sockets read, and the
ExecuteCommand response carries "tokenValue" (the sandbox does not expose it otherwise; the debug
log only has "<redacted>"). The access key ID is not secret and is allowed anywhere.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import dockerd  # noqa: E402
import sshd  # noqa: E402
from harness import Checks, wait  # noqa: E402
from sandbox_proc import AWS_CLI, Sandbox, aws, aws_env, wait_for_exec_ready  # noqa: E402
from exec_e2e import scenario as exec_world  # noqa: E402

STRACE = "/usr/bin/strace"
# execve for the processes; clone/fork for who started whom; the reads for the stream token.
TRACED = "execve,clone,clone3,fork,vfork,read,recvfrom,recvmsg,readv"
OPERATOR = "arn:aws:iam::000000000000:role/operator"
INSTANCE = "i-0ec5a0d0000000042"
# Any stream token the sandbox makes ("AAEAA" + base64), whether or not we saw it on the wire.
TOKEN_SHAPE = re.compile(r"AAEAA[A-Za-z0-9+/=]{40,}")
check = Checks()


def operator_role():
    return {"name": "operator", "assume_role_policy": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}]},
        "managed_policy_arns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}


# ---------------------------------------------------------------------------------------------
# strace output

_ESCAPES = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "a": 7, "b": 8, '"': 34, "\\": 92,
            "'": 39, "?": 63}


def c_string(s, i):
    """Decodes strace's C string literal at s[i] == '"'; returns (bytes, index after it)."""
    out = bytearray()
    i += 1
    while i < len(s):
        c = s[i]
        if c == '"':
            i += 1
            if s.startswith("...", i):  # cut at -s: must not happen with -s 1000000
                raise ValueError("strace truncated a string")
            return bytes(out), i
        if c == "\\":
            n = s[i + 1]
            if n in _ESCAPES:
                out.append(_ESCAPES[n])
                i += 2
            elif n == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
            elif n in "01234567":
                j = i + 1
                while j < i + 4 and j < len(s) and s[j] in "01234567":
                    j += 1
                out.append(int(s[i + 1:j], 8) & 0xFF)
                i = j
            else:
                raise ValueError("unknown escape \\" + n)
        else:
            out.append(ord(c) & 0xFF)  # the file is read as latin-1: one char per byte
            i += 1
    raise ValueError("unterminated string")


def string_array(s, i):
    """Decodes ["a", "b", ...] at s[i] == '['; returns (list of str, index after ']')."""
    if s[i] != "[":
        raise ValueError("not an array (strace without -v?): " + s[i:i + 40])
    items = []
    i += 1
    while True:
        if s[i] == "]":
            return items, i + 1
        if s.startswith(", ", i):
            i += 2
            continue
        if s.startswith("...", i):
            raise ValueError("strace abbreviated an array")
        b, i = c_string(s, i)
        items.append(b.decode("utf-8", "replace"))


def string_literals(s):
    """Every string literal in a line of strace output, decoded."""
    out, i = [], 0
    while True:
        i = s.find('"', i)
        if i < 0:
            return out
        b, i = c_string(s, i)
        out.append(b)


class Exec:
    def __init__(self, pid, path, argv, envp, raw):
        self.pid, self.path, self.argv, self.envp, self.raw = pid, path, argv, envp, raw
        self.result = None      # 0, -1 (failed, e.g. ENOENT while searching PATH), None unknown
        self.started_by = None  # the program image that was running in pid before this execve

    def env(self):
        return dict(e.split("=", 1) if "=" in e else (e, "") for e in self.envp)

    def __repr__(self):
        return f"pid {self.pid} {self.path} {self.argv[:6]}"


_LINE = re.compile(r"^(\d+) +(.*)$")
# "= 0", "= -1 ENOENT (No such file or directory)", "= 4 /* 32092 in strace's PID NS */"
_RESULT = re.compile(r"\) += (-?\d+|\?)(?: /\* (\d+) in strace's PID NS \*/)?"
                     r"(?: [A-Z]\w* \(.*\))?$")
_READ = re.compile(r"^(read|recvfrom|recvmsg|readv)\((\d+), (.*)$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
_CLONE = ("clone", "clone3", "fork", "vfork")


class Trace:
    """The processes a traced run exec'd, in order, and the bytes read per (pid, fd)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            text = f.read().decode("latin-1")
        self.execs = []
        self.streams = defaultdict(bytearray)
        parent = {}
        pending = {}  # pid -> (syscall, Exec or fd) for "<unfinished ...>"
        for line in text.splitlines():
            m = _LINE.match(line)
            if not m:
                continue
            pid, rest = int(m[1]), m[2]
            unfinished = rest.endswith("<unfinished ...>")
            r = _RESUMED.match(rest)
            if r:
                call, rest_of_call = r[1], r[2]
                what = pending.pop(pid, (call, None))[1]
                res = _RESULT.search(rest)
                if call == "execve" and isinstance(what, Exec) and res:
                    what.result = -1 if res[1].startswith("-") else 0
                elif call in _CLONE and res and res[1].isdigit() and int(res[1]) > 0:
                    parent[int(res[2] or res[1])] = pid
                elif call in ("read", "recvfrom", "recvmsg", "readv") and what is not None:
                    for b in string_literals(rest_of_call):
                        self.streams[(pid, what)] += b
                continue
            if rest.startswith("execve("):
                path, i = c_string(rest, len("execve("))
                argv, i = string_array(rest, i + 2)
                envp, i = string_array(rest, i + 2)
                e = Exec(pid, path.decode("utf-8", "replace"), argv, envp, rest)
                self.execs.append(e)
                if unfinished:
                    pending[pid] = ("execve", e)
                else:
                    res = _RESULT.search(rest)
                    e.result = (-1 if res[1].startswith("-") else 0) if res else None
                continue
            call = rest.split("(", 1)[0]
            if call in _CLONE:
                res = _RESULT.search(rest)
                if unfinished:
                    pending[pid] = (call, None)
                elif res and res[1].isdigit() and int(res[1]) > 0:
                    parent[int(res[2] or res[1])] = pid
                continue
            rd = _READ.match(rest)
            if rd:
                fd = int(rd[2])
                if unfinished:
                    pending[pid] = (rd[1], fd)
                else:
                    for b in string_literals(rd[3]):
                        self.streams[(pid, fd)] += b
        # Who started whom: the image a pid ran before its execve, inherited over clone/fork
        # (for the report and for "ecsh's direct children"; the leak checks cover every execve).
        image = {}
        for n, e in enumerate(self.execs):
            if n == 0:
                e.started_by = "strace"
            elif e.pid in image:  # the same process exec'ing again (sh -c CMD execs CMD)
                e.started_by = image[e.pid]
            else:
                p, hops = parent.get(e.pid), 0
                while p is not None and p not in image and hops < 1000:
                    p, hops = parent.get(p), hops + 1
                e.started_by = image.get(p)
            if e.result != -1:
                image[e.pid] = e.path

    def stream_tokens(self):
        """Every tokenValue/TokenValue that came in on any traced fd (ExecuteCommand etc.)."""
        found = set()
        pat = re.compile(rb'"(?:tokenValue|TokenValue)"\s*:\s*("(?:[^"\\]|\\.)*")')
        for data in self.streams.values():
            for m in pat.finditer(bytes(data)):
                v = json.loads(m[1].decode())
                if v and v != "<redacted>":
                    found.add(v)
        return found


def traced(trace_path, cmd, env, timeout=90):
    """Runs cmd under strace -f; returns (exit code, stdout, stderr, Trace)."""
    # --pidns-translation: clone results inside a task's PID namespace in strace's numbering.
    argv = [STRACE, "-f", "-qq", "--pidns-translation", "-e", "trace=" + TRACED, "-v",
            "-s", "1000000", "-o", trace_path] + cmd
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # strace blocks fatal signals when it runs a program with -o (-I3); it exits when that
        # program does. So: the traced program, by the PID the trace names, then strace.
        try:
            os.kill(Trace(trace_path).execs[0].pid, signal.SIGKILL)
        except (OSError, IndexError, ValueError):
            pass
        try:
            out, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate(timeout=20)
        err += b"\n[timed out]"
    return p.returncode, out, err, Trace(trace_path)


# ---------------------------------------------------------------------------------------------
# the checks every scenario shares

def scan(label, tr, secrets, out_text, expect_env_secrets=True):
    """ecsh's own argv, every child's argv and environment, and the --debug output: no secret.

    secrets maps a name ("secret key", "session token", "stream token #1", ...) to its value."""
    check(tr.execs and os.path.basename(tr.execs[0].path) == "ecsh",
          f"{label}: the trace starts with ecsh's own execve", tr.execs[:1])
    if not tr.execs:
        return
    own, children = tr.execs[0], tr.execs[1:]
    if expect_env_secrets:
        # Positive control: the parser sees ecsh's environment, and the secrets really are in it.
        env = own.env()
        check(env.get("AWS_SECRET_ACCESS_KEY") == secrets["secret key"] and
              env.get("AWS_SESSION_TOKEN") == secrets["session token"],
              f"{label}: the secret key and session token are in ecsh's own environment "
              "(where they come from; the parser reads environments)")
    leaks = [name for name, v in secrets.items() if any(v in a for a in own.argv)]
    check(not leaks, f"{label}: ecsh's own argv carries no secret", leaks)
    for where in ("argv", "environment"):
        found = []
        for c in children:
            strings = c.argv if where == "argv" else c.envp
            for name, v in secrets.items():
                if any(v in s for s in strings):
                    found.append(f"{name} in {c!r} (started by {c.started_by})")
        check(not found, f"{label}: no secret in any of the {len(children)} child execve's {where}"
              f" ({', '.join(sorted(secrets))})", found[:5])
    # Belt and braces on the raw text (escaped or not), and any stream-token-shaped string.
    raw_hits = [f"{name} in {c!r}" for c in children for name, v in secrets.items() if v in c.raw]
    shaped = [f"{TOKEN_SHAPE.search(c.raw)[0][:16]}... in {c!r}" for c in children
              if TOKEN_SHAPE.search(c.raw)]
    check(not raw_hits and not shaped,
          f"{label}: nothing secret or stream-token-shaped in the raw trace of any child",
          raw_hits[:3] + shaped[:3])
    in_log = [name for name, v in secrets.items() if v in out_text]
    check(not in_log, f"{label}: no secret in ecsh's output and --debug log", in_log)
    shaped = TOKEN_SHAPE.findall(out_text)
    check(not shaped, f"{label}: no stream-token-shaped string in ecsh's output and --debug log",
          [s[:16] for s in shaped[:3]])


def with_tokens(secrets, tr, label, expected=True):
    tokens = sorted(tr.stream_tokens())
    if expected:
        check(tokens, f"{label}: the session's stream token was read off the wire "
              "(so the checks below cover it)", "no tokenValue in what ecsh read")
    else:
        check(not tokens, f"{label}: no stream token involved (no SSM session)", tokens[:1])
    s = dict(secrets)
    for n, t in enumerate(tokens, 1):
        s[f"stream token #{n}"] = t
    return s


def describe(label, tr):
    """Prints the processes the trace found (for the log; a failed execve is a PATH lookup)."""
    failed = len([c for c in tr.execs[1:] if c.result == -1])
    for c in tr.execs[1:]:
        if c.result != -1:
            args = " ".join(c.argv)
            print(f"     {label}: child {c.path}: {args[:90]}{'...' if len(args) > 90 else ''} "
                  f"[{len(c.envp)} env vars; started by {c.started_by or '?'}]")
    if failed:
        print(f"     {label}: and {failed} failed execve (PATH search), argv and environment "
              "checked too")


def assume(sb, session):
    rc, out, err = aws(sb, "sts", "assume-role", "--role-arn", OPERATOR, "--role-session-name",
                       session)
    if rc != 0:
        raise RuntimeError(f"assume-role: {err}")
    return out["Credentials"]


def env_with(creds, **extra):
    env = aws_env(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    env["NO_PROXY"] = "127.0.0.1"
    env.pop("DOCKER_HOST", None)
    env.update(extra)
    return env


def secrets_of(creds):
    return {"secret key": creds["SecretAccessKey"], "session token": creds["SessionToken"]}


# ---------------------------------------------------------------------------------------------
# scenarios

def scenario_demo(ecsh, work, creds):
    label = "demo"
    env = env_with(creds)
    rc, out, err, tr = traced(os.path.join(work, "demo.trace"),
                              [ecsh, "--debug", "demo", "--no-pacing"], env, timeout=120)
    text = (out + err).decode(errors="replace")
    check(rc == 0 and "Done." in text, f"{label}: ecsh demo runs to the end under strace",
          (rc, text[-600:]))
    secrets = with_tokens(secrets_of(creds), tr, label)
    direct = [c for c in tr.execs[1:] if c.started_by == tr.execs[0].path]
    sandboxes = [c for c in direct if c.result == 0 and c.path.endswith("/ecsh-sandbox")
                 and "--exit-with-parent" in c.argv]
    check(len(sandboxes) == 1 and len(direct) == 1,
          f"{label}: ecsh starts exactly one process, ecsh-sandbox", direct)
    check(len(tr.execs) > 2, f"{label}: the trace follows the sandbox's own children too "
          f"({len(tr.execs) - 2} of them: the tasks, the agent's commands)", len(tr.execs))
    if sandboxes:
        aws_vars = [e.split("=", 1)[0] for e in sandboxes[0].envp if e.startswith("AWS_")]
        check(not aws_vars, f"{label}: ecsh-sandbox gets no AWS_* variable at all", aws_vars)
    scan(label, tr, secrets, text)
    describe(label, tr)


def scenario_exec(ecsh, work, sb, creds):
    label = "exec (ECS Exec, --debug)"
    env = env_with(creds)
    rc, out, err, tr = traced(os.path.join(work, "exec.trace"),
                              [ecsh, "--debug", "--endpoint-url", sb.url, "exec", "-c", "e2e",
                               "-s", "app", "--", "sh", "-c", "echo hygiene-ok"], env)
    text = (out + err).decode(errors="replace")
    check(rc == 0 and out == b"hygiene-ok\n", f"{label}: the command runs under strace",
          (rc, out[-200:], err[-600:]))
    check("ExecuteCommand" in text, f"{label}: the --debug log is on (it logs ExecuteCommand)")
    secrets = with_tokens(secrets_of(creds), tr, label)
    # What is true: a one-shot ECS Exec session is all in-process, ecsh starts nothing.
    check(len(tr.execs) == 1, f"{label}: ecsh starts no process at all (the trace has only "
          "ecsh's own execve)", tr.execs[1:])
    scan(label, tr, secrets, text)


def scenario_credential_process(ecsh, work, sb, env_creds):
    label = "credential_process"
    home = os.path.join(work, "home")
    os.makedirs(os.path.join(home, ".aws"))
    cp_creds = assume(sb, "hygiene-cp")
    creds_json = os.path.join(work, "cp-creds.json")
    with open(os.open(creds_json, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        json.dump({"Version": 1, "AccessKeyId": cp_creds["AccessKeyId"],
                   "SecretAccessKey": cp_creds["SecretAccessKey"],
                   "SessionToken": cp_creds["SessionToken"],
                   "Expiration": cp_creds["Expiration"]}, f)
    helper = os.path.join(work, "credproc")
    with open(helper, "w") as f:
        f.write(f"#!/bin/sh\nexec cat {creds_json}\n")
    os.chmod(helper, 0o755)
    with open(os.path.join(home, ".aws", "config"), "w") as f:
        f.write(f"[profile hyg]\ncredential_process = {helper} --profile-name hyg\n"
                "region = us-east-1\n")

    def cp_env(with_keys):
        env = env_with(env_creds, HOME=home)
        for k in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            env.pop(k)  # ~/.aws/config of the temporary HOME
        if not with_keys:
            for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
                env.pop(k)
        return env

    def helper_runs(tr):
        return [c for c in tr.execs[1:] if c.path == helper and c.result == 0]

    # 1. Credentials only from the credential process: nothing it printed reaches any process.
    rc, out, err, tr = traced(os.path.join(work, "cp.trace"),
                              [ecsh, "--debug", "--endpoint-url", sb.url, "--profile", "hyg",
                               "exec", "-c", "e2e", "-s", "app", "--", "sh", "-c", "echo cp-ok"],
                              cp_env(False))
    text = (out + err).decode(errors="replace")
    check(rc == 0 and out == b"cp-ok\n", f"{label}: exec with the profile's credentials works",
          (rc, out[-200:], err[-600:]))
    check("Credential=" + cp_creds["AccessKeyId"] + "/" in text,
          f"{label}: the requests are signed with the credentials the process printed")
    direct = [c for c in tr.execs[1:] if c.started_by == tr.execs[0].path and c.result == 0]
    check(len(direct) == 1 and direct[0].path == helper and
          direct[0].argv == [helper, "--profile-name", "hyg"], f"{label}: ecsh starts exactly one "
          "process, the credential process itself with its command line as argv (no shell), as "
          "the AWS CLI runs it", direct)
    check(len(helper_runs(tr)) == 1, f"{label}: the credential process itself runs once",
          tr.execs[1:])
    secrets = with_tokens(secrets_of(cp_creds), tr, label)
    scan(label, tr, secrets, text, expect_env_secrets=False)
    describe(label, tr)

    # 2. The environment's keys present too, with --profile (which takes them out of the chain):
    # the credential process inherits ecsh's environment unchanged, as under the AWS CLI.
    label2 = label + " with keys in the environment"
    both = dict(secrets_of(cp_creds))
    both.update({"environment's " + k: v for k, v in secrets_of(env_creds).items()})
    env = cp_env(True)
    rc, out, err, tr = traced(os.path.join(work, "cp2.trace"),
                              [ecsh, "--debug", "--endpoint-url", sb.url, "--profile", "hyg",
                               "whoami", "--output", "json"], env)
    text = (out + err).decode(errors="replace")
    check(rc == 0 and "hygiene-cp" in out.decode(errors="replace"),
          f"{label2}: --profile wins, whoami is the credential process's role session",
          (rc, out[-300:], err[-300:]))
    runs = helper_runs(tr)
    check(len(runs) == 1, f"{label2}: the credential process runs once", tr.execs[1:])
    argv_leaks = [n for c in tr.execs[1:] for n, v in both.items() if any(v in a for a in c.argv)]
    check(not argv_leaks, f"{label2}: no secret in any child's argv", argv_leaks)
    in_log = [n for n, v in both.items() if v in text]
    check(not in_log, f"{label2}: no secret in ecsh's output and --debug log", in_log)
    own = tr.execs[0].env()
    # The credential process here is a shell script, and /bin/sh sets these for its children
    # itself (PWD when the caller has none, as under ctest).
    shell_set = {"PWD", "OLDPWD", "SHLVL", "_"}
    added = {k for c in tr.execs[1:] for k, v in c.env().items()
             if own.get(k) != v and k not in shell_set}
    check(not added, f"{label2}: every child's environment is ecsh's own, nothing added "
          "(the printed credentials in particular)", sorted(added))
    cp_leaks = [n for c in tr.execs[1:] for n, v in secrets_of(cp_creds).items()
                if any(v in e for e in c.envp)]
    check(not cp_leaks, f"{label2}: the printed credentials are in no child's environment",
          cp_leaks)
    # The AWS CLI, same environment, same profile.
    rc_a, out_a, err_a, tr_a = traced(os.path.join(work, "cp-awscli.trace"),
                                      [AWS_CLI, "--endpoint-url", sb.url, "--profile", "hyg",
                                       "sts", "get-caller-identity"], env)
    runs_a = [c for c in tr_a.execs[1:] if c.path == helper and c.result == 0]
    check(rc_a == 0 and len(runs_a) == 1, f"{label2}: the AWS CLI runs the credential process "
          "too (for comparison)", (rc_a, err_a[-300:], tr_a.execs[1:4]))
    if runs and runs_a:
        def secret_vars(e):
            return {k for k, v in e.env().items() if k.startswith("AWS_") and
                    any(s in v for s in both.values())}
        ours, theirs = secret_vars(runs[0]), secret_vars(runs_a[0])
        check(ours <= theirs, f"{label2}: ecsh passes the credential process no secret the AWS "
              f"CLI does not (ecsh: {sorted(ours)}; AWS CLI: {sorted(theirs)})",
              (sorted(ours), sorted(theirs)))
        # (Debian's /usr/bin/aws adds AWS_DATA_PATH of its own: compare the caller's variables.)
        caller = {k for k in env if k.startswith("AWS_")}
        aws_ours = {k: v for k, v in runs[0].env().items() if k in caller}
        aws_theirs = {k: v for k, v in runs_a[0].env().items() if k in caller}
        def unshelled(e):
            return {k: v for k, v in e.items() if k not in shell_set}
        check(aws_ours == aws_theirs and unshelled(runs[0].env()) == unshelled(own),
              f"{label2}: the credential process gets ecsh's environment as is, the same "
              "AWS_* variables as under the AWS CLI",
              (set(aws_ours.items()) ^ set(aws_theirs.items()),
               set(unshelled(runs[0].env()).items()) ^ set(unshelled(own).items())))
        print(f"     NOTE: the credential process inherits the caller's environment: "
              f"{sorted(ours) or 'no secret'} reach it under ecsh, {sorted(theirs) or 'none'} "
              "under the AWS CLI (its argv: " + " ".join(runs[0].argv) + ")")


def method2_world():
    sleep = ["sleep", "2147483647"]
    return {
        "roles": [operator_role()],
        "clusters": [{"name": "prod", "container_instances": [
            {"instance_id": INSTANCE, "private_ip": "127.0.0.1"}]}],
        "task_definitions": [
            {"family": "api", "requiresCompatibilities": ["EC2"], "containerDefinitions": [
                {"name": "app", "image": dockerd.TEST_IMAGE, "command": sleep,
                 "essential": True}]}],
        "services": [{"cluster": "prod", "name": "api", "task_definition": "api",
                      "desired_count": 1, "launch_type": "EC2", "enable_execute_command": False}],
    }


def wait_for_task(sb, cluster, timeout=60):
    def running_task():
        rc, out, _ = aws(sb, "ecs", "list-tasks", "--cluster", cluster)
        if rc != 0 or not out["taskArns"]:
            return None
        rc, d, _ = aws(sb, "ecs", "describe-tasks", "--cluster", cluster, "--tasks",
                       *out["taskArns"])
        return next((t for t in d.get("tasks", []) if t["lastStatus"] == "RUNNING"),
                    None) if rc == 0 else None
    return wait(running_task, f"a RUNNING task in {cluster}", timeout=timeout, interval=0.2)


def scenario_method2_ssh(ecsh, work, sandbox_bin):
    label = "exec --via ec2 --ssh"
    if not dockerd.available() or not sshd.available():
        print(f"SKIP {label}: needs root, dockerd (docker.io), busybox-static and "
              "openssh-server")
        return
    engine = dockerd.Dockerd().start()
    sb = ssh = None
    try:
        engine.import_busybox()
        sb = Sandbox(sandbox_bin, scenario=method2_world(),
                     args=["--runtime", "docker", "--docker-host", engine.host,
                           "--agent-pacing", "none"]).start()
        ssh = sshd.Sshd(env={"DOCKER_HOST": engine.host}).start()
        creds = assume(sb, "hygiene-ssh")
        task = wait_for_task(sb, "prod")
        app = [c for c in task["containers"] if c["name"] == "app"][0]
        cmd = [ecsh, "--debug", "--endpoint-url", sb.url, "exec", "-c", "prod", "-t",
               task["taskArn"].rsplit("/", 1)[1], "-n", "app", "--via", "ec2", "--ssh",
               "--ssh-user", "root", "-i", ssh.client_key]
        for o in ssh.client_options():
            cmd += ["--ssh-option", o]
        marker = f"hygiene-{os.getpid()}"
        rc, out, err, tr = traced(os.path.join(work, "ssh.trace"),
                                  cmd + ["--", "sh", "-c", "hostname"],
                                  env_with(creds, ECSH_HYGIENE_MARKER=marker))
        text = (out + err).decode(errors="replace")
        check(rc == 0 and out.decode().strip() == app["runtimeId"][:12],
              f"{label}: the command runs in the task's container through ssh",
              (rc, out[-200:], err[-600:]))
        secrets = with_tokens(secrets_of(creds), tr, label, expected=False)
        direct = [c for c in tr.execs[1:] if c.started_by == tr.execs[0].path]
        ok_ssh = [c for c in direct if c.result == 0 and os.path.basename(c.path) == "ssh"]
        others = [c for c in direct if os.path.basename(c.path) != "ssh"]
        check(len(ok_ssh) == 2 and not others, f"{label}: ecsh starts ssh twice (the container "
              "lookup, then the command) and nothing else", direct)
        if ok_ssh:
            # Positive control: ssh does get ecsh's environment (a variable of ours reaches
            # it), minus the secret variables.
            env = ok_ssh[0].env()
            check(env.get("ECSH_HYGIENE_MARKER") == marker and
                  "AWS_SECRET_ACCESS_KEY" not in env and "AWS_SESSION_TOKEN" not in env,
                  f"{label}: ssh gets ecsh's environment without the secret variables",
                  sorted(k for k in env if k.startswith(("AWS_", "ECSH_"))))
        scan(label, tr, secrets, text)
        describe(label, tr)
    finally:
        if ssh:
            ssh.stop()
        if sb:
            sb.cleanup()
        engine.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    if not os.path.exists(STRACE):
        print("FAIL: strace is not installed (./dev.sh installs it)")
        return 1
    ecsh = os.path.abspath(opts.ecsh)
    sandbox_bin = os.path.abspath(opts.sandbox)
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="ecsh-hygiene-")
    world = exec_world()
    world["roles"].append(operator_role())
    sb = Sandbox(sandbox_bin, scenario=world, args=["--agent-pacing", "none"]).start()
    try:
        wait_for_exec_ready(sb, "e2e")
        creds = assume(sb, "hygiene-env")
        scenario_demo(ecsh, work, creds)
        scenario_exec(ecsh, work, sb, creds)
        scenario_credential_process(ecsh, work, sb, creds)
        scenario_method2_ssh(ecsh, work, sandbox_bin)
    finally:
        sb.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    print(f"({time.monotonic() - started:.1f} s)")
    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
