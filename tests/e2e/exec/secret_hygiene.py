#!/usr/bin/env python3
"""Secrets hygiene: with --debug, nothing ecsh logs while running exec (API calls, session
set-up, KMS data key, resume) contains the secret key, the session token, the stream token or the
KMS plaintext; and no secret is ever on a command line."""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks  # noqa: E402
from sandbox_proc import Sandbox, aws, aws_env  # noqa: E402
from exec_e2e import scenario, wait_for_exec_ready  # noqa: E402

check = Checks()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    world = scenario()
    world["roles"].append({"name": "operator", "assume_role_policy": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}]},
        "managed_policy_arns": ["arn:aws:iam::aws:policy/AdministratorAccess"]})
    sb = Sandbox(opts.sandbox, scenario=world, args=["--agent-pacing", "none"]).start()
    try:
        wait_for_exec_ready(sb, "secure")
        rc, out, err = aws(sb, "sts", "assume-role", "--role-arn",
                           "arn:aws:iam::000000000000:role/operator", "--role-session-name", "hygiene")
        creds = out["Credentials"]
        env = aws_env(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        env["NO_PROXY"] = "127.0.0.1"
        sb.admin("/_sandbox/faults", {"data_channel": {"drop_link_every_frames": 20, "max_link_drops": 1}})
        # The KMS cluster: GenerateDataKey's plaintext goes through the debug log path too.
        p = subprocess.run([opts.ecsh, "--debug", "--endpoint-url", sb.url, "exec", "-c", "secure",
                            "-s", "app", "--", "sh", "-c", "head -c 300000 /dev/zero; echo done"],
                           env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        log = p.stderr.decode(errors="replace")
        check(p.returncode == 0 and p.stdout.endswith(b"done\n"), "the session works under --debug",
              (p.returncode, log[-500:]))
        check(creds["SecretAccessKey"] not in log, "the secret key is not in the debug log")
        check(creds["SessionToken"] not in log, "the session token is not in the debug log")
        stream_tokens = re.findall(r'"tokenValue"\s*:\s*"([^"]*)"', log, re.I)
        check(stream_tokens and all(t == "<redacted>" for t in stream_tokens),
              "every stream token in the debug log is redacted", stream_tokens[:3])
        check(not re.search(r"AAEAA[A-Za-z0-9+/=]{40,}", log), "no stream token anywhere else in it")
        plaintexts = re.findall(r'"Plaintext"\s*:\s*"([^"]*)"', log)
        check(plaintexts and all(t == "<redacted>" for t in plaintexts),
              "the KMS data key is redacted", plaintexts[:2])
        check("ResumeSession" in log, "the log covers a resume (a link was dropped)")
    finally:
        sb.cleanup()
    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
