"""A forward proxy on 127.0.0.1 for the tests: CONNECT tunnels (API over TLS, WebSockets) and
absolute-form plain HTTP requests (one per connection). It records what it was asked, can demand
Basic credentials (407 otherwise) or refuse every CONNECT (403), and resolves names of its own
(`hosts`), so that a URL with such a name works only through the proxy. Threads are daemons;
close() stops accepting and closes every socket it opened."""
import base64
import select
import socket
import threading


class ConnectProxy:
    def __init__(self, hosts=None, credentials=None, refuse=False):
        self.hosts = dict(hosts or {})
        self.credentials = credentials  # (user, password) or None
        self.refuse = refuse
        self.seen = []  # (method, target, Proxy-Authorization, first tunnelled bytes or b"")
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.open = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closed = True
        for s in [self.sock] + self.open:
            try:
                s.close()
            except OSError:
                pass

    def records(self, method=None):
        with self.lock:
            return [r for r in self.seen if method is None or r[0] == method]

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.open.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _read_head(c):
        data = b""
        while b"\r\n\r\n" not in data:
            c.settimeout(30)
            chunk = c.recv(65536)
            if not chunk:
                return None, b""
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        return head.decode("latin-1"), rest

    def _dial(self, authority):
        host, _, port = authority.rpartition(":")
        host = host.strip("[]")
        host = self.hosts.get(host, host)
        u = socket.create_connection((host, int(port)), timeout=10)
        u.settimeout(None)
        self.open.append(u)
        return u

    def _serve(self, c):
        try:
            head, rest = self._read_head(c)
            if head is None:
                return
            lines = head.split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            auth = headers.get("proxy-authorization", "")
            record = [method, target, auth, b""]
            with self.lock:
                self.seen.append(record)
            if self.credentials:
                want = "Basic " + base64.b64encode(
                    ("%s:%s" % self.credentials).encode()).decode()
                if auth != want:
                    c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                              b"Proxy-Authenticate: Basic realm=\"test\"\r\n"
                              b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                    return
            if method == "CONNECT":
                if self.refuse:
                    c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                              b"Connection: close\r\n\r\n")
                    return
                try:
                    u = self._dial(target)
                except OSError:
                    c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    return
                c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    u.sendall(rest)
                self._relay(c, u, record)
                return
            # Absolute-form plain HTTP: one request per connection, sent on in origin-form.
            if not target.startswith("http://"):
                c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            authority, _, path = target[len("http://"):].partition("/")
            length = int(headers.get("content-length", "0"))
            while len(rest) < length:
                chunk = c.recv(65536)
                if not chunk:
                    return
                rest += chunk
            kept = [l for l in lines[1:] if not l.lower().startswith(("proxy-", "connection:"))]
            request = "\r\n".join([f"{method} /{path} HTTP/1.1"] + kept +
                                  ["Connection: close", "", ""]).encode("latin-1") + rest
            u = self._dial(authority)
            u.sendall(request)
            self._relay(c, u, record)
        except OSError:
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def _relay(self, c, u, record):
        try:
            while True:
                r, _, _ = select.select([c, u], [], [], 300)
                if not r:
                    return
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is c and not record[3]:
                        record[3] = data[:64]
                    (u if s is c else c).sendall(data)
        except OSError:
            return
        finally:
            u.close()
