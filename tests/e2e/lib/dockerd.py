"""A private Docker Engine for end-to-end tests, and a tiny image made without a registry.

The engine listens on its own unix socket under a temporary folder (never /var/run/docker.sock),
with no bridge, no iptables and its own data and exec roots: test machines have no registry and
no bridge networking, so containers run with `--network none` from images imported locally.
Only the dockerd started here is ever signalled, by its PID. Every wait is bounded.

The image (`ecsh-test/busybox:1` by default) is Debian's busybox-static with a link per applet,
imported over the Engine API from a tarball built in memory.
"""
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.parse

DOCKERD = "/usr/sbin/dockerd"
BUSYBOX = "/bin/busybox"
TEST_IMAGE = "ecsh-test/busybox:1"


def available():
    """Whether this machine can run a private engine (root, dockerd and busybox-static)."""
    return os.geteuid() == 0 and os.path.exists(DOCKERD) and os.path.exists(BUSYBOX)


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Dockerd:
    def __init__(self):
        # Short path: a unix socket path must stay under 108 bytes.
        self.dir = tempfile.mkdtemp(prefix="ecsh-dk-", dir="/tmp")
        self.socket_path = os.path.join(self.dir, "docker.sock")
        self.host = "unix://" + self.socket_path
        self.proc = None

    def start(self, timeout=60):
        self.log = open(os.path.join(self.dir, "dockerd.log"), "w+")
        cmd = [DOCKERD, "--iptables=false", "--ip6tables=false", "--ip-forward=false",
               "--ip-masq=false", "--bridge=none", "--storage-driver=overlay2",
               "--data-root", os.path.join(self.dir, "data"),
               "--exec-root", os.path.join(self.dir, "exec"),
               "--pidfile", os.path.join(self.dir, "dockerd.pid"),
               "--shutdown-timeout", "2",
               "-H", self.host]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dockerd exited with %s: %s" % (self.proc.returncode,
                                                                   self.log_tail()))
            try:
                status, body = self.request("GET", "/_ping", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("dockerd did not answer /_ping within %ss: %s" % (timeout,
                                                                            self.log_tail()))

    def log_tail(self, n=2000):
        try:
            self.log.flush()
            with open(self.log.name) as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = _UnixHTTPConnection(self.socket_path, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def import_busybox(self, image=TEST_IMAGE, extra_files=None):
        """Imports a busybox image; extra_files maps paths in the image to bytes (mode 0755)."""
        applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                                 check=True).stdout.split()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for d in ("bin", "tmp", "etc", "root"):
                info = tarfile.TarInfo(d)
                info.type = tarfile.DIRTYPE
                info.mode = 0o1777 if d == "tmp" else 0o755
                tar.addfile(info)
            tar.add(BUSYBOX, arcname="bin/busybox")
            for a in applets:
                if a == "busybox":
                    continue
                info = tarfile.TarInfo("bin/" + a)
                info.type = tarfile.SYMTYPE
                info.linkname = "busybox"
                tar.addfile(info)
            for path, data in (extra_files or {}).items():
                info = tarfile.TarInfo(path.lstrip("/"))
                info.size = len(data)
                info.mode = 0o755
                tar.addfile(info, io.BytesIO(data))
        repo, tag = image.rsplit(":", 1)
        query = urllib.parse.urlencode({"fromSrc": "-", "repo": repo, "tag": tag})
        status, body = self.request("POST", "/images/create?" + query, body=buf.getvalue(),
                                    headers={"Content-Type": "application/x-tar"})
        if status != 200 or b'"error' in body:
            raise RuntimeError("image import failed: %s %s" % (status, body[:500]))
        return image

    def containers(self, filters=None, all=False):
        q = {"all": "1" if all else "0"}
        if filters:
            q["filters"] = json.dumps(filters)
        status, body = self.request("GET", "/containers/json?" + urllib.parse.urlencode(q))
        if status != 200:
            raise RuntimeError("containers/json: %s %s" % (status, body[:300]))
        return json.loads(body)

    def run(self, image, cmd, name=None, labels=None):
        """Creates and starts a container (no network); returns its ID."""
        spec = {"Image": image, "Cmd": cmd, "Labels": labels or {},
                "HostConfig": {"NetworkMode": "none"}}
        path = "/containers/create"
        if name:
            path += "?" + urllib.parse.urlencode({"name": name})
        status, body = self.request("POST", path, body=json.dumps(spec),
                                    headers={"Content-Type": "application/json"})
        if status != 201:
            raise RuntimeError("create: %s %s" % (status, body[:300]))
        cid = json.loads(body)["Id"]
        status, body = self.request("POST", "/containers/%s/start" % cid)
        if status not in (204, 304):
            raise RuntimeError("start: %s %s" % (status, body[:300]))
        return cid

    def remove(self, cid):
        self.request("DELETE", "/containers/%s?force=1" % cid)

    def env(self, base=None):
        e = dict(os.environ if base is None else base)
        e["DOCKER_HOST"] = self.host
        return e

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # Containers first (killed, not stopped: PID 1 of a test container ignores SIGTERM),
            # so that dockerd's own shutdown has nothing to wait for.
            try:
                for c in self.containers(all=True):
                    self.remove(c["Id"])
            except (OSError, RuntimeError):
                pass
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        # Overlay mounts may linger a moment after dockerd exits.
        for _ in range(20):
            try:
                shutil.rmtree(self.dir)
                return
            except OSError:
                subprocess.run(["umount", "-R", "-l", os.path.join(self.dir, "data")],
                               stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
                time.sleep(0.1)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
