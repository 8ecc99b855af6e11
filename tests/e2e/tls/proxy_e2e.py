#!/usr/bin/env python3
"""ecsh through a forward proxy, as botocore and the official plugin go: HTTPS_PROXY (CONNECT
for the API and the wss:// session), HTTP_PROXY (absolute-form API requests, CONNECT for the
ws:// session), credentials in the proxy URL (sent, never shown, not even under --debug), NO_PROXY
read as botocore reads it (checked against the real AWS CLI), and a proxy that is down or
refuses (exit 255 at once, naming the proxy). The sandbox is reached as sandbox.test, a name
only the proxy resolves: a connection that skips the proxy fails."""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "exec"))
from harness import Checks  # noqa: E402
from sandbox_proc import Sandbox, AWS_CLI, aws_env, wait_for_exec_ready  # noqa: E402
from exec_e2e import scenario  # noqa: E402
from certs import TestCa  # noqa: E402
from connect_proxy import ConnectProxy  # noqa: E402

check = Checks()
TGT = ["-c", "e2e", "-s", "app"]
NAMES = {"sandbox.test": "127.0.0.1", "api.sandbox.test": "127.0.0.1"}


def env_with(**extra):
    env = {k: v for k, v in aws_env().items() if not k.lower().endswith("_proxy")}
    env.update(extra)
    return env


def run(cmd, env, timeout=120):
    start = time.monotonic()
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    return (p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"),
            time.monotonic() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ecsh-proxy-e2e-")
    sandboxes, proxies = [], []
    try:
        ca = TestCa(work)
        cert, key = ca.issue("sandbox", ["sandbox.test", "api.sandbox.test", "localhost",
                                         "127.0.0.1"])
        tls = Sandbox(opts.sandbox, scenario=scenario(), args=["--agent-pacing", "none"],
                      tls_cert=cert, tls_key=key, ca=ca.path).start()
        sandboxes.append(tls)
        plain = Sandbox(opts.sandbox, scenario=scenario(), args=["--agent-pacing", "none"]).start()
        sandboxes.append(plain)
        wait_for_exec_ready(tls, "e2e")
        wait_for_exec_ready(plain, "e2e")
        proxy = ConnectProxy(hosts=NAMES)
        proxies.append(proxy)
        https_url = tls.url_for("sandbox.test")
        http_url = plain.url_for("sandbox.test")
        ecsh = os.path.abspath(opts.ecsh)

        # --- HTTPS_PROXY: the API and the wss:// session both tunnel with CONNECT ---
        env = env_with(AWS_CA_BUNDLE=ca.path, HTTPS_PROXY=proxy.url)
        before = len(tls.admin("/_sandbox/tls")["connections"])
        rc, out, err, _ = run([ecsh, "--endpoint-url", https_url, "exec", *TGT, "--", "echo",
                               "via-https-proxy"], env)
        connects = [r for r in proxy.records("CONNECT") if r[1] == f"sandbox.test:{tls.port}"]
        new = tls.admin("/_sandbox/tls")["connections"][before:]
        check(rc == 0 and out == "via-https-proxy\n" and len(connects) >= 2,
              "HTTPS_PROXY: exec through CONNECT tunnels (API and wss://)",
              (rc, out, err[-400:], proxy.records()))
        check(any(c["websocket"] and c["server_name"] == "sandbox.test" for c in new),
              "HTTPS_PROXY: the wss:// link inside the tunnel sent SNI sandbox.test", new)

        # --- HTTP_PROXY: absolute-form API requests, CONNECT for the ws:// session ---
        env = env_with(HTTP_PROXY=proxy.url)
        rc, out, err, _ = run([ecsh, "--endpoint-url", http_url, "exec", *TGT, "--", "echo",
                               "via-http-proxy"], env)
        absolute = [r for r in proxy.records("POST") if r[1].startswith(http_url + "/")]
        ws = [r for r in proxy.records("CONNECT") if r[1] == f"sandbox.test:{plain.port}"
              and r[3].startswith(b"GET /v1/data-channel/")]
        check(rc == 0 and out == "via-http-proxy\n" and absolute and ws,
              "HTTP_PROXY: API in absolute form, the ws:// session through CONNECT",
              (rc, out, err[-400:], proxy.records()))

        # --- the plugin under the AWS CLI, both through the proxy ---
        bindir = os.path.join(work, "bin")
        os.makedirs(bindir)
        os.symlink(ecsh, os.path.join(bindir, "session-manager-plugin"))
        task = wait_for_exec_ready(tls, "e2e")
        env = env_with(HTTPS_PROXY=proxy.url,
                       PATH=bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
        rc, out, err, _ = run([AWS_CLI, "--endpoint-url", https_url, "--ca-bundle", ca.path,
                               "ecs", "execute-command", "--cluster", "e2e", "--task",
                               task["taskArn"], "--container", "app", "--interactive",
                               "--command", "echo plugin-via-proxy"], env)
        check(rc == 0 and "plugin-via-proxy" in out,
              "aws ecs execute-command with ecsh as plugin, both through HTTPS_PROXY",
              (rc, out[-400:], err[-400:]))

        # --- credentials in the proxy URL: sent, never shown ---
        user, password = "tester", "s3cr3t p@ss"
        authed = ConnectProxy(hosts=NAMES, credentials=(user, password))
        proxies.append(authed)
        cred_url = f"http://{user}:s3cr3t%20p%40ss@127.0.0.1:{authed.port}"
        env = env_with(AWS_CA_BUNDLE=ca.path, HTTPS_PROXY=cred_url)
        rc, out, err, _ = run([ecsh, "--debug", "--endpoint-url", https_url, "exec", *TGT, "--",
                               "echo", "authed"], env)
        import base64
        b64 = base64.b64encode(f"{user}:{password}".encode()).decode()
        leaked = [s for s in ("s3cr3t", b64) if s in out + err]
        check(rc == 0 and out == "authed\n" and len(authed.records("CONNECT")) >= 2,
              "credentials in HTTPS_PROXY authenticate the API and wss:// tunnels",
              (rc, out, err[-600:], authed.records()))
        check("proxy" in err and not leaked,
              "--debug mentions the proxy but never its password", (leaked, err[-600:]))
        env = env_with(AWS_CA_BUNDLE=ca.path, HTTPS_PROXY=authed.url)
        rc, out, err, _ = run([ecsh, "--endpoint-url", https_url, "whoami"], env)
        lines = err.strip().splitlines()
        check(rc == 255 and len(lines) == 2 and "wants credentials" in lines[0] and
              "user:password@" in lines[1],
              "a proxy that wants credentials: exit 255, says how to give them", (rc, err))

        # --- NO_PROXY, as botocore reads it: ecsh and the AWS CLI agree, and both are right ---
        p = tls.port
        cases = [("api.sandbox.test", "sandbox.test", True),
                 ("api.sandbox.test", ".sandbox.test", True),
                 ("api.sandbox.test", f"api.sandbox.test:{p}", True),
                 ("api.sandbox.test", "api.sandbox.test:1", False),
                 ("api.sandbox.test", "box.test", False),
                 ("api.sandbox.test", "other.test, SANDBOX.TEST ", True),
                 ("api.sandbox.test", "*", True),
                 ("api.sandbox.test", "127.0.0.1", False),
                 ("127.0.0.1", "127.0.0.1", True),
                 ("127.0.0.1", "127.0.0.0/8", False),
                 ("127.0.0.1", f"127.0.0.1:{p}", True),
                 ("127.0.0.1", "localhost", False)]
        for host, no_proxy, bypass in cases:
            url = tls.url_for(host)
            env = env_with(AWS_CA_BUNDLE=ca.path, HTTPS_PROXY=proxy.url, NO_PROXY=no_proxy)
            seen = []
            for cmd in ([ecsh, "--endpoint-url", url, "whoami"],
                        [AWS_CLI, "--endpoint-url", url, "sts", "get-caller-identity"]):
                n = len(proxy.records())
                rc, _, err, _ = run(cmd, env)
                seen.append(len(proxy.records()) > n)
            check(seen == [not bypass, not bypass],
                  f"NO_PROXY={no_proxy!r} for {host}: " + ("direct" if bypass else "proxied") +
                  " (ecsh, aws)", seen)

        # --- a proxy that is down, or refuses: exit 255 at once, naming the proxy ---
        refusing = ConnectProxy(hosts=NAMES, refuse=True)
        proxies.append(refusing)
        # A port bound but not listening: connections to it are refused while we hold it.
        down = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        down.bind(("127.0.0.1", 0))
        down_port = down.getsockname()[1]
        for what, proxy_url, words in [("down", f"http://127.0.0.1:{down_port}",
                                        ["cannot connect to the proxy", f"127.0.0.1:{down_port}",
                                         "HTTPS_PROXY"]),
                                       ("refusing", refusing.url, ["refused CONNECT", "403"])]:
            env = env_with(AWS_CA_BUNDLE=ca.path, HTTPS_PROXY=proxy_url)
            rc, _, err, took = run([ecsh, "--endpoint-url", https_url, "whoami"], env, timeout=60)
            lines = err.strip().splitlines()
            check(rc == 255 and took < 20 and len(lines) == 2 and
                  all(w in lines[0] for w in words) and "NO_PROXY" in lines[1],
                  f"a proxy that is {what}: exit 255 within seconds, naming it, one fix",
                  (rc, round(took, 1), err))
        down.close()
    finally:
        for x in proxies:
            x.close()
        for s in sandboxes:
            s.cleanup()
        subprocess.run(["rm", "-rf", work])
    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
