#!/usr/bin/env python3
"""`ecsh cp` against the sandbox (process runtime): a 64 MiB random file up and down with
matching SHA-256; a tree of 1,000 small files with symlinks, modes and odd names (spaces, quotes,
newlines, bytes that are not UTF-8, a leading dash) round-tripped and compared; a minimal image
(no tar, base64, sha256sum, stat: its PATH holds only a shell and a few basics) where files still
copy, verified by reading back; stdin and stdout as `-`; --no-clobber; the error cases with their
messages and exit codes; an interrupted copy that leaves no destination; the progress line in a
real terminal (tmux)."""
import argparse
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import Checks, Tmux, wait  # noqa: E402
from sandbox_proc import Sandbox, aws, aws_env, wait_for_exec_ready  # noqa: E402

check = Checks()
# dev.sh test-sanitized runs the suite with ASAN_OPTIONS set: smaller transfers there.
SANITIZED = "ASAN_OPTIONS" in os.environ
SSM_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
               "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
BASICS = ["sh", "cat", "stty", "rm", "mv", "chmod", "mkdir", "touch", "head", "sleep", "mktemp"]


def scenario(minimal_bin, sha_bin):
    role = {"name": "cp-task-role", "policies": [{"name": "exec", "document": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": SSM_ACTIONS, "Resource": "*"}]}}]}

    def task_def(family, **container):
        c = {"name": "app", "image": f"{family}:1", "essential": True,
             "command": ["sleep", "100000"]}
        c.update(container)
        return {"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                "cpu": "256", "memory": "512",
                "taskRoleArn": "arn:aws:iam::000000000000:role/cp-task-role",
                "containerDefinitions": [c]}

    def service(name):
        return {"cluster": "e2e", "name": name, "task_definition": name, "desired_count": 1,
                "launch_type": "FARGATE", "platform_version": "1.4.0",
                "enable_execute_command": True}

    return {"roles": [role], "clusters": [{"name": "e2e", "capacity": {"fargate": True}}],
            "task_definitions": [
                task_def("full"),
                task_def("mini", environment=[{"name": "PATH", "value": minimal_bin}]),
                task_def("ro", readonlyRootFilesystem=True),
                task_def("sha", environment=[{"name": "PATH", "value": sha_bin}])],
            "services": [service("full"), service("mini"), service("ro"), service("sha")]}


def ecsh_env():
    env = aws_env()
    env["NO_PROXY"] = "127.0.0.1"
    return env


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


ODD_NAMES = [b"with space", b"quote'single", b'quote"double', b"new\nline", b"caf\xe9",
             b"-leading-dash", b"semi;colon $dollar", b"back\\slash"]


def make_tree(root):
    """1,000 small files in nested directories, symlinks, modes and odd names."""
    os.makedirs(root)
    n = 0
    for d in range(10):
        sub = os.path.join(root, f"d{d}", "inner")
        os.makedirs(sub)
        for i in range(99):
            p = os.path.join(sub if i % 2 else os.path.dirname(sub), f"f{i}.txt")
            with open(p, "wb") as f:
                f.write(os.urandom(i * 7) + f"{d}/{i}\n".encode())
            os.chmod(p, [0o644, 0o600, 0o755, 0o640][i % 4])
            n += 1
    for name in ODD_NAMES:
        p = os.path.join(os.fsencode(root), name)
        with open(p, "wb") as f:
            f.write(b"odd " + name)
        n += 1
    while n < 1000:
        with open(os.path.join(root, f"extra{n}"), "w") as f:
            f.write(str(n))
        n += 1
    os.symlink("d0/f0.txt", os.path.join(root, "link-to-file"))
    os.symlink("d1", os.path.join(root, "link-to-dir"))
    os.symlink("nowhere", os.path.join(root, "dangling"))
    os.chmod(os.path.join(root, "d3"), 0o750)
    return n


def snapshot(root):
    """Every entry under root: relative name -> (type, mode, content or link target)."""
    out = {}
    broot = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(broot):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, broot)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", 0, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d", stat.S_IMODE(st.st_mode), b"")
            else:
                with open(p, "rb") as f:
                    out[rel] = ("f", stat.S_IMODE(st.st_mode), f.read())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    ecsh = os.path.abspath(opts.ecsh)
    work = tempfile.mkdtemp(prefix="ecsh-cp-e2e-")
    minimal_bin = os.path.join(work, "minimal-bin")
    os.makedirs(minimal_bin)
    for tool in BASICS:
        found = shutil.which(tool)
        if found:
            os.symlink(found, os.path.join(minimal_bin, tool))
    # An image with sha256sum but no b2sum (busybox's, Alpine's): everything else this machine has.
    sha_bin = os.path.join(work, "sha-bin")
    os.makedirs(sha_bin)
    for d in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in os.listdir(d) if os.path.isdir(d) else []:
            if tool != "b2sum" and not os.path.lexists(os.path.join(sha_bin, tool)):
                os.symlink(os.path.join(d, tool), os.path.join(sha_bin, tool))
    # The process runtime's image is this machine's filesystem: the container's paths for this
    # test live under the test's own directory.
    R = os.path.join(work, "remote")
    os.makedirs(R)
    # A 1 MiB file system for "no space left" (a tmpfs, mounted before the tasks start so that
    # their mount namespaces have it; needs root, as CI has).
    full = os.path.join(R, "full")
    os.makedirs(full)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", full],
                             capture_output=True).returncode == 0
    sb = Sandbox(opts.sandbox, scenario(minimal_bin, sha_bin),
                 args=["--agent-pacing", "none"]).start()
    tmux = None
    try:
        wait_for_exec_ready(sb, "e2e")
        base = [ecsh, "--endpoint-url", sb.url, "cp", "-c", "e2e"]

        def cp(service, *args, stdin=subprocess.DEVNULL, timeout=600):
            p = subprocess.run(base + ["-s", service] + list(args), env=ecsh_env(), stdin=stdin,
                               capture_output=True, timeout=timeout)
            return p.returncode, p.stdout, p.stderr.decode(errors="replace")

        def remote(service, *cmd):
            p = subprocess.run([ecsh, "--endpoint-url", sb.url, "exec", "-c", "e2e", "-s",
                                service, "--"] + list(cmd), env=ecsh_env(),
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
            return p.returncode, p.stdout

        # --- 64 MiB up and down ---
        big = os.path.join(work, "big.bin")
        big_mib = 16 if SANITIZED else 64  # the sanitizers make every byte ten times dearer
        with open(big, "wb") as f:
            f.write(os.urandom(big_mib << 20))
        t0 = time.monotonic()
        rc, _, err = cp("full", big, ":" + R + "/big.bin")
        up_s = time.monotonic() - t0
        rrc, out = remote("full", "sha256sum", R + "/big.bin")
        check(rc == 0 and out.split()[:1] == [sha256_file(big).encode()],
              f"{big_mib} MiB upload arrives intact ({up_s:.1f} s)", (rc, err[-400:], out[:100]))
        check("verified by b2sum in the container" in err,
              "the summary says how it was verified (b2sum: BLAKE2b, the cheaper sum)", err[-300:])
        down = os.path.join(work, "down")
        os.makedirs(down)
        t0 = time.monotonic()
        rc, _, err = cp("full", ":" + R + "/big.bin", down + "/")
        down_s = time.monotonic() - t0
        got = os.path.join(down, "big.bin")
        check(rc == 0 and os.path.exists(got) and sha256_file(got) == sha256_file(big),
              f"{big_mib} MiB download arrives intact ({down_s:.1f} s)", (rc, err[-400:]))
        check(not [n for n in os.listdir(down) if "ecsh-tmp" in n],
              "no temporary file is left behind", os.listdir(down))

        # --- a tree of 1,000 files with odd names, round trip ---
        tree = os.path.join(work, "tree")
        n = make_tree(tree)
        rc, _, err = cp("full", "-r", tree, ":" + R + "/")
        check(rc == 0, f"a tree of {n} files goes up (-r)", err[-400:])
        back = os.path.join(work, "back")
        os.makedirs(back)
        rc, _, err = cp("full", "-r", ":" + R + "/tree", back)
        a, b = snapshot(tree), snapshot(os.path.join(back, "tree"))
        diff = sorted(set(a) ^ set(b))[:5] + [k for k in a if k in b and a[k] != b[k]][:5]
        check(rc == 0 and a == b,
              "... and comes back identical: names, contents, modes, symlinks", (err[-300:], diff))
        d = subprocess.run(["diff", "-r", "--no-dereference", tree, os.path.join(back, "tree")],
                           capture_output=True)
        check(d.returncode == 0, "diff -r finds no difference", d.stdout[:300])
        mt_a = os.lstat(os.path.join(tree, "d2", "f0.txt")).st_mtime_ns // 10**9
        mt_b = os.lstat(os.path.join(back, "tree", "d2", "f0.txt")).st_mtime_ns // 10**9
        check(mt_a == mt_b, "mtimes are kept", (mt_a, mt_b))

        # --- several relative sources at once (one tar stream) ---
        os.makedirs(os.path.join(R, "multi"))
        p = subprocess.run(base + ["-s", "full", "-r", "tree/d1", "tree/d2/inner", "big.bin",
                                   ":" + R + "/multi/"], env=ecsh_env(), cwd=work,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
        same = all(snapshot(os.path.join(tree, rel)) == snapshot(os.path.join(R, "multi", name))
                   for rel, name in (("d1", "d1"), (os.path.join("d2", "inner"), "inner")))
        check(p.returncode == 0 and same and
              sha256_file(os.path.join(R, "multi", "big.bin")) == sha256_file(big),
              "several relative sources (directories and a file) go up in one copy",
              (p.returncode, p.stderr[-300:]))

        # --- a read-only container: the wrapper cannot keep stderr apart there ---
        rc, _, err = cp("ro", ":" + R + "/big.bin", os.path.join(work, "from-ro.bin"))
        check(rc == 0 and sha256_file(os.path.join(work, "from-ro.bin")) == sha256_file(big),
              "a download from a read-only container (stderr not separable) is intact and "
              "verified", (rc, err[-300:]))

        # --- U+FFFD: the agent drops two of its three bytes from a session's output (as the real
        #     agent does, agent/session/shell/shell.go); cp sends files base64-encoded when the
        #     image has base64, so they still arrive whole ---
        rc, out = remote("full", "printf", "a\\357\\277\\275b\\n")
        check(rc == 0 and out == b"a\xefb\n",
              "the sandbox's agent alters U+FFFD in output as the SSM agent does", out)
        fffd = os.path.join(work, "fffd.bin")
        with open(fffd, "wb") as f:
            f.write(b"\xef\xbf\xbd" * 1000 + os.urandom(100_000) + b"\xef\xbf\xbd")
        rc, _, err = cp("full", fffd, ":" + R + "/fffd.bin")
        rc2, _, err2 = cp("full", ":" + R + "/fffd.bin", os.path.join(work, "fffd-back.bin"))
        check(rc == 0 and rc2 == 0 and
              sha256_file(os.path.join(work, "fffd-back.bin")) == sha256_file(fffd),
              "a file full of U+FFFD goes up and comes back whole (base64 on the way back)",
              (err[-300:], err2[-300:]))

        # --- one file with an odd name, up and down ---
        odd = os.path.join(os.fsencode(work), b"odd \xe9 'name'\nline")
        with open(odd, "wb") as f:
            f.write(b"odd file\n")
        os.chmod(odd, 0o600)
        rc, _, err = cp("full", os.fsdecode(odd), ":" + R + "/")
        rc2, _, err2 = cp("full", ":" + R + "/" + os.fsdecode(os.path.basename(odd)),
                          os.path.join(work, "odd-back"))
        ok = rc == 0 and rc2 == 0 and open(os.path.join(work, "odd-back"), "rb").read() == \
            b"odd file\n" and stat.S_IMODE(os.stat(os.path.join(work, "odd-back")).st_mode) == 0o600
        check(ok, "a file named with a space, quotes, a newline and a non-UTF-8 byte round-trips "
              "with its mode", (rc, err[-300:], rc2, err2[-300:]))

        # --- stdin and stdout ---
        rc, _, err = cp("full", "-", ":" + R + "/from-stdin", stdin=open(big, "rb"))
        rc2, out, err2 = cp("full", ":" + R + "/from-stdin", "-")
        check(rc == 0 and rc2 == 0 and hashlib.sha256(out).hexdigest() == sha256_file(big),
              "- as the source (stdin) and as the destination (stdout)", (err[-200:], err2[-200:]))

        # --- --no-clobber ---
        rc, _, err = cp("full", "--no-clobber", big, ":" + R + "/big.bin")
        check(rc == 252 and "already exists" in err, "--no-clobber refuses to replace (252)",
              (rc, err[-200:]))

        # --- errors ---
        rc, _, err = cp("full", ":" + R + "/nothing-here", work)
        check(rc == 252 and R + "/nothing-here: no such file or directory in the container" in err,
              "a missing remote file: its message and 252", (rc, err))
        rc, _, err = cp("full", ":/etc", work)
        check(rc == 252 and "is a directory" in err and "-r" in err,
              "a directory where a file is expected: says to use -r", (rc, err))
        rc, _, err = cp("full", os.path.join(work, "no-such-local"), ":" + R + "/")
        check(rc == 252 and "no such file or directory" in err, "a missing local file", (rc, err))
        wait_for_exec_ready(sb, "e2e")
        rc, _, err = cp("ro", big, ":/etc/big.bin")
        check(rc == 252 and "permission denied" in err,
              "a read-only destination: permission denied (252)", (rc, err))
        rc, _, err = cp("full", big, ":/no/such/dir/x")
        check(rc == 252 and "does not exist" in err, "a missing remote directory", (rc, err))

        if mounted:
            rc, _, err = cp("full", big, ":" + full + "/big.bin")
            left = os.listdir(full)
            check(rc == 252 and "no space left" in err and not left,
                  "no space left in the container: its message, 252, and nothing kept",
                  (rc, err[-300:], left))
        else:
            print("skip no-space check: mounting a tmpfs needs root")

        # --- an image with sha256sum and no b2sum: files and trees verified by sha256sum ---
        sha_small = os.path.join(work, "sha-small.bin")
        with open(sha_small, "wb") as f:
            f.write(os.urandom(200_000))
        rc, _, err = cp("sha", sha_small, ":" + R + "/sha-small.bin")
        rc2, _, err2 = cp("sha", ":" + R + "/sha-small.bin", os.path.join(work, "sha-back.bin"))
        check(rc == 0 and rc2 == 0 and
              sha256_file(os.path.join(work, "sha-back.bin")) == sha256_file(sha_small) and
              "verified by sha256sum in the container" in err and
              "verified by sha256sum in the container" in err2,
              "without b2sum: a file goes up and down verified by sha256sum", (err[-300:], err2[-300:]))
        rc, _, err = cp("sha", "-r", tree, ":" + R + "/sha-tree")
        sha_back = os.path.join(work, "sha-tree-back")
        rc2, _, err2 = cp("sha", "-r", ":" + R + "/sha-tree", sha_back)
        check(rc == 0 and rc2 == 0 and snapshot(tree) == snapshot(sha_back) and
              "verified by sha256sum in the container" in err + err2,
              "without b2sum: a tree goes up and down verified by sha256sum", (err[-300:], err2[-300:]))

        # --- a minimal image: no tar, base64, b2sum, sha256sum, stat ---
        small = os.path.join(work, "small.bin")
        with open(small, "wb") as f:
            # Without base64 in the image the bytes cross the agent as they are, and it drops two
            # bytes of every U+FFFD (checked below): this file has none.
            f.write(os.urandom(300_000).replace(b"\xef\xbf\xbd", b"") + b"\r\n\x04\x00end")
        rc, _, err = cp("mini", small, ":" + R + "/small.bin")
        rc2, _, err2 = cp("mini", ":" + R + "/small.bin", os.path.join(work, "small-back"))
        check(rc == 0 and rc2 == 0 and
              sha256_file(os.path.join(work, "small-back")) == sha256_file(small),
              "without tar, base64 or a checksum program a file still goes up and down intact",
              (err[-300:], err2[-300:]))
        check("read back" in err and "read back" in err2,
              "... verified by reading it back", (err[-200:], err2[-200:]))
        rc, _, err = cp("mini", "-r", tree, ":" + R + "/")
        check(rc == 252 and "needs tar" in err, "a directory needs tar, and the message says so",
              (rc, err))

        # --- an interrupted copy leaves no destination (the agent's realistic pace: ~1 MB/s) ---
        slow = Sandbox(opts.sandbox, scenario(minimal_bin, sha_bin)).start()
        try:
            wait_for_exec_ready(slow, "e2e")
            dest = os.path.join(work, "interrupted.bin")
            proc = subprocess.Popen([ecsh, "--endpoint-url", slow.url, "cp", "-c", "e2e", "-s",
                                     "full", ":" + R + "/big.bin", dest], env=ecsh_env(),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            try:
                def partial():
                    tmp = [n for n in os.listdir(work) if n.startswith("interrupted.bin.ecsh-tmp")]
                    return tmp and os.path.getsize(os.path.join(work, tmp[0])) > 100_000
                wait(partial, "a partly written temporary file", timeout=60, interval=0.01)
                _, sessions, _ = aws(slow, "ssm", "describe-sessions", "--state", "Active")
                for s in sessions.get("Sessions", []):
                    aws(slow, "ssm", "terminate-session", "--session-id", s["SessionId"])
                proc.wait(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            left = [n for n in os.listdir(work) if n.startswith("interrupted")]
            err = proc.stderr.read().decode(errors="replace")
            check(proc.returncode == 250 and not left and "ended from outside ecsh" in err,
                  "a copy whose session is killed mid-way leaves nothing (no file, no temporary) "
                  "and says the session was ended elsewhere (exit 250)",
                  (proc.returncode, left, err[-300:]))
        finally:
            slow.cleanup()

        # --- the progress line on a terminal ---
        tmux = Tmux(ecsh_env(), cols=120, rows=10)
        script = os.path.join(work, "progress.sh")
        with open(script, "w") as f:
            f.write(f"'{ecsh}' --endpoint-url {sb.url} cp -c e2e -s full '{big}' :{R}/p.bin; "
                    "echo CP-DONE; sleep 30\n")
        tmux.start(f"sh {script}")
        seen = None
        end = time.monotonic() + 120
        while time.monotonic() < end:
            screen = tmux.screen()
            if "MiB/s" in screen and "big.bin" in screen and f"{big_mib}.0 MiB" in screen:
                seen = screen
                break
            if "CP-DONE" in screen:
                break
            time.sleep(0.05)
        check(seen is not None, "a progress line (name, bytes of the total, rate) is drawn on a "
              "terminal", tmux.screen()[-500:])
        wait(lambda: "CP-DONE" in tmux.screen(), "the copy in tmux", timeout=120)
        check(f"ecsh: copied 1 file, {big_mib}.0 MiB" in tmux.screen(),
              "... and a summary line at the end",
              tmux.screen()[-400:])
    finally:
        if tmux:
            tmux.kill()
        sb.cleanup()
        if mounted:
            subprocess.run(["umount", full], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
