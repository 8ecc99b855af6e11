#!/usr/bin/env python3
"""A TCP server for the forward tests, run inside a sandbox task. One command line per
connection:
  ECHO            echoes every byte until the client closes
  DOWN N SEED     sends N bytes of random.Random(SEED), then closes
  UP N            reads N bytes, answers their SHA-256 (hex) and a newline, then closes
  ZERO N          sends N zero bytes, then closes (for benchmarks: no work per byte)
  SINK N          reads N bytes, answers "ok" and a newline, then closes
  TICK N MS       sends N lines "SEQ UNIX_TIME" one every MS milliseconds, then closes (for
                  benchmarks: arrival gaps; the task shares the host's clock)
`forward_server.py --tick N MS` prints the same lines on stdout.
"""
import hashlib
import random
import socket
import sys
import threading
import time


def read_line(conn):
    line = b""
    while not line.endswith(b"\n"):
        b = conn.recv(1)
        if not b:
            return None
        line += b
    return line.decode().split()


def serve(conn):
    with conn:
        words = read_line(conn)
        if not words:
            return
        if words[0] == "ECHO":
            while True:
                data = conn.recv(1 << 16)
                if not data:
                    return
                conn.sendall(data)
        elif words[0] == "DOWN":
            n, rng = int(words[1]), random.Random(int(words[2]))
            while n > 0:
                k = min(n, 1 << 20)
                conn.sendall(rng.randbytes(k))
                n -= k
        elif words[0] == "UP":
            n, h = int(words[1]), hashlib.sha256()
            while n > 0:
                data = conn.recv(min(n, 1 << 20))
                if not data:
                    break
                h.update(data)
                n -= len(data)
            conn.sendall((h.hexdigest() + "\n").encode())
        elif words[0] == "ZERO":
            n, block = int(words[1]), bytes(1 << 20)
            while n > 0:
                k = min(n, len(block))
                conn.sendall(block[:k] if k < len(block) else block)
                n -= k
        elif words[0] == "SINK":
            n = int(words[1])
            buf = bytearray(1 << 20)
            while n > 0:
                got = conn.recv_into(buf, min(n, len(buf)))
                if not got:
                    break
                n -= got
            conn.sendall(b"ok\n")
        elif words[0] == "TICK":
            tick(int(words[1]), float(words[2]), lambda line: conn.sendall(line.encode()))


def tick(n, ms, write):
    """n lines "SEQ UNIX_TIME", one every ms milliseconds on a fixed schedule (a late line does
    not delay the next)."""
    start = time.monotonic()
    for i in range(n):
        delay = start + i * ms / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        write(f"{i} {time.time():.6f}\n")


def main():
    if sys.argv[1] == "--tick":  # the same lines on stdout, for a session's command
        tick(int(sys.argv[2]), float(sys.argv[3]), lambda line: print(line, end="", flush=True))
        return
    port = int(sys.argv[1])
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(256)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
