"""What the end-to-end scripts share: named checks that are counted, and a tmux terminal."""
import os
import subprocess
import sys
import time
import uuid


def wait(predicate, what, timeout=30, interval=0.1):
    """predicate()'s first truthy result, polled until `timeout` seconds; else AssertionError."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = predicate()
        if got:
            return got
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


class Checks:
    def __init__(self):
        self.failures = []

    def __call__(self, cond, what, detail=""):
        print(("ok   " if cond else "FAIL ") + what + ("" if cond else f"\n     {detail}"))
        sys.stdout.flush()
        if not cond:
            self.failures.append(what)
        return cond

    def exit_code(self):
        if self.failures:
            print(f"{len(self.failures)} check(s) failed: " + "; ".join(self.failures))
            return 1
        return 0


class Tmux:
    """A real terminal: one tmux server on a private socket, killed at the end."""

    def __init__(self, env, cols=100, rows=30):
        self.sock = "ecsh-test-" + uuid.uuid4().hex[:12]
        self.env = env
        self.cols, self.rows = cols, rows

    def run(self, *args):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), env=self.env,
                              capture_output=True, text=True, timeout=20)

    def start(self, command):
        self.run("new-session", "-d", "-x", str(self.cols), "-y", str(self.rows), command)

    def keys(self, *keys):
        self.run("send-keys", "-t", "0", *keys)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "0", "-S", "-200").stdout

    def wait_for(self, text, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.screen():
                return True
            time.sleep(0.1)
        return False

    def kill(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], env=self.env,
                       capture_output=True, timeout=20)
        # tmux leaves its socket file behind.
        tmpdir = (self.env or os.environ).get("TMUX_TMPDIR", "/tmp")
        try:
            os.unlink(os.path.join(tmpdir, f"tmux-{os.getuid()}", self.sock))
        except OSError:
            pass
