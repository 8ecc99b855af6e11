#!/usr/bin/env python3
"""`ecsh doctor --probe` (issue #27 item 2): after the checks, a real session runs `true` in the
container and each phase is timed. Green: every phase, exit 0, the same in JSON. Red with every
check green (the sandbox's fault injection fails ExecuteCommand): the failing phase named with
AWS's words, exit 1. --user probes as that user; a task that cannot exec fails at ExecuteCommand
as the checks predict."""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "exec"))
from harness import Checks  # noqa: E402
from sandbox_proc import Sandbox, run_ecsh, wait_for_exec_ready  # noqa: E402
from exec_e2e import scenario  # noqa: E402

PHASES = ["ExecuteCommand", "WebSocket open", "handshake", "first output", "exit status"]
check = Checks()


def ecsh(opts, sb, *args):
    return run_ecsh(opts.ecsh, sb, *args)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    sb = Sandbox(opts.sandbox, scenario(), args=["--agent-pacing", "none"]).start()
    try:
        wait_for_exec_ready(sb, "e2e")
        wait_for_exec_ready(sb, "secure")
        p = ecsh(opts, sb, "doctor", "-c", "e2e", "-s", "app", "--probe")
        check(p.returncode == 0 and "Probe: ECS Exec works." in p.stdout
              and all(f"✓ {ph} (" in p.stdout for ph in PHASES),
              "a green probe: every phase timed, exit 0", (p.returncode, p.stdout[-900:], p.stderr))

        p = ecsh(opts, sb, "--output", "json", "doctor", "-c", "secure", "-s", "app", "--probe")
        doc = json.loads(p.stdout) if p.returncode == 0 else {}
        probe = doc.get("probe", {})
        check(probe.get("ok") is True and [x["name"] for x in probe.get("phases", [])] == PHASES
              and all(x["ms"] >= 0 for x in probe["phases"]) and probe.get("error") is None,
              "JSON: probe.ok, the phases in order with their times (KMS-encrypted session)",
              (p.returncode, p.stdout[-600:], p.stderr))

        p = ecsh(opts, sb, "doctor", "-c", "e2e", "-s", "app", "--probe", "--user", "nobody")
        check(p.returncode == 0 and "Probe: ECS Exec works." in p.stdout,
              "--user: the probe runs as that user", (p.returncode, p.stdout[-400:], p.stderr))
        p = ecsh(opts, sb, "doctor", "-c", "e2e", "-s", "app", "--probe", "--user", "nosuchuser")
        check(p.returncode == 1 and "✗ exit status" in p.stdout and "nosuchuser" in p.stdout,
              "--user with an unknown user: the probe fails and says why",
              (p.returncode, p.stdout[-400:], p.stderr))

        # Every check green, and still the session fails: the phase is named with AWS's words.
        sb.admin("/_sandbox/faults", {"api": {"error_rate": 1.0, "operations": ["ExecuteCommand"]}})
        p = ecsh(opts, sb, "doctor", "-c", "e2e", "-s", "app", "--probe")
        check(p.returncode == 1 and "Verdict: ECS Exec should work" in p.stdout
              and "✗ ExecuteCommand: " in p.stdout and "InternalFailure" in p.stdout
              and "every check is green, yet the session failed at ExecuteCommand" in p.stdout,
              "a red probe under green checks: the failing phase and AWS's error, exit 1",
              (p.returncode, p.stdout[-900:], p.stderr))
        p = ecsh(opts, sb, "--output", "json", "doctor", "-c", "e2e", "-s", "app", "--probe")
        probe = json.loads(p.stdout).get("probe", {}) if p.stdout.strip() else {}
        check(p.returncode == 1 and probe.get("ok") is False
              and probe.get("failed_phase") == "ExecuteCommand"
              and probe.get("error", {}).get("code") == "InternalFailure",
              "JSON: probe.failed_phase and probe.error", (p.returncode, p.stdout[-600:]))
        sb.admin("/_sandbox/faults", {})
        p = ecsh(opts, sb, "doctor", "-c", "e2e", "-s", "app", "--user", "nobody")
        check(p.returncode == 252 and "--probe" in p.stderr,
              "--user without --probe is a usage error", (p.returncode, p.stderr))
    finally:
        sb.cleanup()
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
