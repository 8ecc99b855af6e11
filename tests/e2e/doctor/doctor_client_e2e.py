#!/usr/bin/env python3
"""doctor on this machine's side of a session (issue #27 item 7): the session stream endpoint
reached through the client's own settings (unreachable: blocked, with what to check), the clock
against AWS's Date header (every sandbox answer carries one, as AWS's do), and credentials that
end before a long session would (credential_process with an Expiration)."""
import argparse
import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "exec"))
from harness import Checks  # noqa: E402
from sandbox_proc import ADMIN_KEY, ADMIN_SECRET, Sandbox, aws_env, wait_for_exec_ready  # noqa: E402
from exec_e2e import scenario  # noqa: E402

check = Checks()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def doctor(opts, env, *args):
    env = dict(env, NO_PROXY="127.0.0.1")
    return subprocess.run([opts.ecsh, *args, "doctor", "-c", "e2e", "-s", "app"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    sb = Sandbox(opts.sandbox, scenario(), args=["--agent-pacing", "none"]).start()
    try:
        wait_for_exec_ready(sb, "e2e")
        with urllib.request.urlopen(sb.url + "/_sandbox/health", timeout=10) as r:
            date = r.headers.get("Date", "")
        try:
            parsed = datetime.datetime.strptime(date, "%a, %d %b %Y %H:%M:%S GMT")
        except ValueError:
            parsed = None
        check(parsed is not None, "the sandbox's answers carry an HTTP Date, as AWS's do", date)

        p = doctor(opts, aws_env(), "--endpoint-url", sb.url)
        check(p.returncode == 0 and "This machine" in p.stdout
              and f"✓ this machine reaches 127.0.0.1:{sb.port}" in p.stdout
              and "✓ this machine's clock agrees with AWS's" in p.stdout
              and "✓ credentials do not expire (environment)" in p.stdout,
              "this machine: the stream endpoint reached, the clock right, keys that do not end",
              (p.returncode, p.stdout[:900], p.stderr[-300:]))

        # The stream endpoint unreachable from here (nothing listens), the API reachable.
        dead = free_port()
        env = aws_env()
        env["AWS_ENDPOINT_URL"] = sb.url
        env["AWS_ENDPOINT_URL_SSMMESSAGES"] = f"http://127.0.0.1:{dead}"
        p = doctor(opts, env)
        check(p.returncode == 1 and f"✗ this machine reaches 127.0.0.1:{dead}" in p.stdout
              and "HTTPS_PROXY" in p.stdout and "Verdict: ECS Exec is blocked by 1 problem" in p.stdout,
              "an unreachable stream endpoint blocks, with what to check (exit 1)",
              (p.returncode, p.stdout[:1200], p.stderr[-300:]))
        p = doctor(opts, env, "--output", "json")
        found = [c for c in json.loads(p.stdout)["checks"] if c["id"] == "client.stream_reachable"]
        check(found and found[0]["status"] == "fail" and found[0]["group"] == "client",
              "JSON: client.stream_reachable fails in group client", found)

        # Credentials with an end 14 minutes away (credential_process, as many SSO helpers).
        with tempfile.TemporaryDirectory(prefix="ecsh-doctor-client-") as tmp:
            ends = (datetime.datetime.now(datetime.timezone.utc)
                    + datetime.timedelta(minutes=14, seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
            helper = os.path.join(tmp, "creds.sh")
            with open(helper, "w") as f:
                f.write("#!/bin/sh\n" + "printf '%s' '" + json.dumps({
                    "Version": 1, "AccessKeyId": ADMIN_KEY, "SecretAccessKey": ADMIN_SECRET,
                    "Expiration": ends}) + "'\n")
            os.chmod(helper, 0o755)
            config = os.path.join(tmp, "config")
            with open(config, "w") as f:
                f.write(f"[profile short]\nregion = us-east-1\ncredential_process = {helper}\n")
            env = {k: v for k, v in aws_env().items()
                   if not k.startswith("AWS_ACCESS_KEY") and not k.startswith("AWS_SECRET")}
            env["AWS_CONFIG_FILE"] = config
            env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(tmp, "none")
            p = doctor(opts, env, "--endpoint-url", sb.url, "--profile", "short")
            line = next((ln for ln in p.stdout.splitlines() if "credentials last" in ln), "")
            check(p.returncode == 0 and ("14 min more" in line or "13 min more" in line)
                  and "cannot resume a dropped link" in line,
                  "credentials ending in 14 min: said, with what it means for a long session "
                  "(not blocking)", (p.returncode, p.stdout[:900], p.stderr[-300:]))
    finally:
        sb.cleanup()
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
