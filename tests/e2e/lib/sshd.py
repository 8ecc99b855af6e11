"""An OpenSSH server on a loopback port that plays an EC2 instance in end-to-end tests.

Keys are made fresh in a temporary folder; the server accepts only that client key, for the
current user. `env` is set for every session (sshd_config SetEnv), e.g. DOCKER_HOST for a
private engine. Only the sshd started here is ever signalled, by its PID. Every wait is bounded.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SSHD = "/usr/sbin/sshd"


def available():
    return os.path.exists(SSHD) and shutil.which("ssh") and shutil.which("ssh-keygen")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sshd:
    def __init__(self, env=None):
        self.dir = tempfile.mkdtemp(prefix="ecsh-sshd-")
        self.env = env or {}
        self.port = free_port()
        self.proc = None
        self.client_key = os.path.join(self.dir, "client_key")

    def start(self, timeout=20):
        def keygen(path):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path],
                           check=True, stdin=subprocess.DEVNULL, timeout=30)
        keygen(os.path.join(self.dir, "host_key"))
        keygen(self.client_key)
        shutil.copy(self.client_key + ".pub", os.path.join(self.dir, "authorized_keys"))
        os.makedirs("/run/sshd", exist_ok=True)  # privilege separation directory
        config = os.path.join(self.dir, "sshd_config")
        with open(config, "w") as f:
            f.write(f"Port {self.port}\nListenAddress 127.0.0.1\n"
                    f"HostKey {self.dir}/host_key\nPidFile {self.dir}/sshd.pid\n"
                    f"AuthorizedKeysFile {self.dir}/authorized_keys\n"
                    "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                    "PrintMotd no\nPrintLastLog no\n")
            if self.env:
                f.write("SetEnv " + " ".join(f"{k}={v}" for k, v in self.env.items()) + "\n")
        self.log = open(os.path.join(self.dir, "sshd.log"), "w+")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", config], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sshd exited: " + self.log_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("sshd did not listen within %ss" % timeout)

    def log_text(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()[-2000:]

    def client_options(self):
        """ssh -o options for a client of this server (no known_hosts, quiet)."""
        return [f"Port={self.port}", "StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null",
                "LogLevel=ERROR", "BatchMode=yes"]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)
