#!/usr/bin/env python3
"""Regions end to end: the sandbox answers only AWS's regions as AWS does (checked with the real
AWS CLI v2), EC2 DescribeRegions lists AWS's regions, and ecsh refuses a region AWS does not have
before any call, naming the nearest real one (exit 253); `ecsh ls` spans several regions."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks  # noqa: E402
from sandbox_proc import Sandbox, aws, aws_env  # noqa: E402

check = Checks()

# AWS's commercial regions, and those an account must opt in to (a fresh account has none).
COMMERCIAL = {
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
    "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1",
    "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
    "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1",
    "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"}
OPT_IN = {"af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3",
          "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1",
          "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1", "me-central-1",
          "me-south-1", "mx-central-1"}


def in_region(region):
    return aws_env(region=region)


def aws_checks(sb):
    rc, _, err = aws(sb, "ecs", "list-clusters", env=in_region("mars-1"))
    check(rc == 254 and "(InvalidSignatureException)" in err
          and "Credential should be scoped to a valid region." in err,
          "aws ecs list-clusters in mars-1: InvalidSignatureException, as AWS answers", (rc, err))
    rc, _, err = aws(sb, "ssm", "describe-sessions", "--state", "Active",
                     env=in_region("us-eats-1"))
    check(rc == 254 and "(InvalidSignatureException)" in err,
          "aws ssm in us-eats-1: InvalidSignatureException", (rc, err))
    rc, _, err = aws(sb, "sts", "get-caller-identity", env=in_region("mars-1"))
    check(rc == 254 and "(SignatureDoesNotMatch)" in err
          and "Credential should be scoped to a valid region." in err,
          "aws sts get-caller-identity in mars-1: SignatureDoesNotMatch", (rc, err))
    rc, _, err = aws(sb, "ec2", "describe-vpcs", env=in_region("mars-1"))
    check(rc == 254 and "(AuthFailure)" in err, "aws ec2 describe-vpcs in mars-1: AuthFailure",
          (rc, err))
    # A real region the account has not opted in to, and another partition's: the key is unknown.
    rc, _, err = aws(sb, "ecs", "list-clusters", env=in_region("me-south-1"))
    check(rc == 254 and "(UnrecognizedClientException)" in err,
          "aws ecs in me-south-1 (not opted in): UnrecognizedClientException", (rc, err))
    rc, _, err = aws(sb, "sts", "get-caller-identity", env=in_region("cn-north-1"))
    check(rc == 254 and "(InvalidClientTokenId)" in err,
          "aws sts in cn-north-1 (another partition): InvalidClientTokenId", (rc, err))
    rc, out, err = aws(sb, "ecs", "list-clusters", env=in_region("eu-west-1"))
    check(rc == 0 and out == {"clusterArns": []}, "aws ecs list-clusters in eu-west-1 works",
          (rc, out, err))

    rc, out, err = aws(sb, "ec2", "describe-regions")
    got = {r["RegionName"]: r for r in (out or {}).get("Regions", [])}
    check(rc == 0 and set(got) == COMMERCIAL - OPT_IN,
          "aws ec2 describe-regions lists the regions enabled for a fresh account",
          (rc, sorted(set(got) ^ (COMMERCIAL - OPT_IN)), err))
    check(all(r["Endpoint"] == f"ec2.{n}.amazonaws.com" and r["OptInStatus"] ==
              "opt-in-not-required" for n, r in got.items()),
          "each with its EC2 endpoint and opt-in-not-required", list(got.values())[:2])
    rc, out, err = aws(sb, "ec2", "describe-regions", "--all-regions")
    got = {r["RegionName"]: r["OptInStatus"] for r in (out or {}).get("Regions", [])}
    check(rc == 0 and set(got) == COMMERCIAL
          and all(got[n] == "not-opted-in" for n in OPT_IN),
          "--all-regions adds the opt-in regions, not opted in", (rc, got, err))
    rc, out, err = aws(sb, "ec2", "describe-regions", "--region-names", "eu-west-1", "us-west-2")
    check(rc == 0 and sorted(r["RegionName"] for r in out["Regions"]) == ["eu-west-1", "us-west-2"],
          "describe-regions --region-names lists those", (rc, out, err))
    rc, _, err = aws(sb, "ec2", "describe-regions", "--region-names", "mars-1")
    check(rc == 254 and "(InvalidParameterValue)" in err and "mars-1" in err,
          "describe-regions --region-names mars-1: InvalidParameterValue", (rc, err))


def opted_in_checks(opts):
    """A scenario's opted_in_regions enables them: requests work, DescribeRegions says opted-in."""
    with Sandbox(opts.sandbox, scenario={"opted_in_regions": ["me-south-1"]}) as sb:
        rc, out, err = aws(sb, "ecs", "list-clusters", env=in_region("me-south-1"))
        check(rc == 0 and out == {"clusterArns": []},
              "aws ecs in me-south-1 once the account opted in", (rc, out, err))
        rc, out, err = aws(sb, "ec2", "describe-regions", "--filters",
                           "Name=opt-in-status,Values=opted-in")
        check(rc == 0 and [r["RegionName"] for r in out["Regions"]] == ["me-south-1"],
              "describe-regions shows it opted-in (and enabled without --all-regions)",
              (rc, out, err))


def ecsh_checks(sb, ecsh):
    home = tempfile.mkdtemp(prefix="ecsh-regions-home-")

    def run(*args, env_extra=None, region="us-east-1"):
        env = aws_env(region=region, home=home)
        env.update(env_extra or {})
        p = subprocess.run([ecsh, "--endpoint-url", sb.url, *args], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    rc, out, err = run("--region", "mars-1", "ls")
    check(rc == 253 and err.startswith("ecsh: mars-1 is not an AWS region; AWS's regions are "
                                       "named like us-east-1") and out == "",
          "ecsh --region mars-1 ls: not an AWS region, exit 253", (rc, out, err))
    check("ECSH_ALLOW_UNKNOWN_REGION=1" in err, "the message names the escape hatch", err)
    rc, out, err = run("--region", "us-eats-1", "ls")
    check(rc == 253 and "ecsh: us-eats-1 is not an AWS region; did you mean us-east-1?" in err,
          "ecsh --region us-eats-1 ls suggests us-east-1", (rc, err))
    rc, out, err = run("ls", region="eu-wset-1")
    check(rc == 253 and "did you mean eu-west-1?" in err and "AWS_REGION" in err,
          "a region from AWS_REGION is checked the same way", (rc, err))
    config = os.path.join(home, "config")
    with open(config, "w") as f:
        f.write("[profile typo]\nregion = ap-southeast-22\n")
    env_profile = {"AWS_CONFIG_FILE": config}
    rc, out, err = run("--profile", "typo", "ls", env_extra={**env_profile, "AWS_REGION": "",
                                                             "AWS_DEFAULT_REGION": ""})
    check(rc == 253 and "ap-southeast-22 is not an AWS region; did you mean ap-southeast-2?" in err
          and "the profile typo in " + config in err,
          "a region from ~/.aws/config is checked the same way", (rc, err))
    rc, out, err = run("--region", "eu-west-1", "ls")
    check(rc == 0 and "CLUSTER" in out and len(out.strip().splitlines()) == 1,
          "ecsh --region eu-west-1 ls works (an empty table, exit 0)", (rc, out, err))
    # The escape hatch lets the name through; then AWS (here the sandbox) has the last word.
    rc, out, err = run("--region", "mars-1", "ls", env_extra={"ECSH_ALLOW_UNKNOWN_REGION": "1"})
    check(rc == 254 and "Credential should be scoped to a valid region" in err,
          "with ECSH_ALLOW_UNKNOWN_REGION=1 the call is made and the sandbox refuses it as AWS "
          "would", (rc, err))


def span_checks(opts):
    """`ecsh ls` over several regions (--region repeated, --all-regions): each row says its
    region, a region that fails is said on its own line while the others are listed (exit 1)."""
    world = {"clusters": [{"name": "east", "region": "us-east-1"},
                          {"name": "west", "region": "eu-west-1"},
                          {"name": "tokyo", "region": "ap-northeast-1"}]}
    with Sandbox(opts.sandbox, world) as sb:
        env = dict(aws_env(), NO_PROXY="127.0.0.1")

        def ecsh(*args):
            return subprocess.run([opts.ecsh, "--endpoint-url", sb.url, *args], env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=120)
        p = ecsh("--region", "us-east-1", "--region", "eu-west-1", "ls", "clusters")
        lines = p.stdout.splitlines()
        check(p.returncode == 0 and lines and lines[0].split()[:2] == ["REGION", "CLUSTER"]
              and any(ln.split()[:2] == ["us-east-1", "east"] for ln in lines)
              and any(ln.split()[:2] == ["eu-west-1", "west"] for ln in lines)
              and not any("tokyo" in ln for ln in lines),
              "--region twice: each region's clusters, with a REGION column", (p.returncode, p.stdout,
                                                                              p.stderr))
        p = ecsh("--all-regions", "--output", "json", "ls", "clusters")
        rows = json.loads(p.stdout) if p.returncode == 0 else []
        found = sorted((r.get("region"), r.get("cluster")) for r in rows)
        check(p.returncode == 0 and found == [("ap-northeast-1", "tokyo"), ("eu-west-1", "west"),
                                              ("us-east-1", "east")],
              "--all-regions: every enabled region (DescribeRegions), rows with their region",
              (p.returncode, found, p.stderr[-300:]))
        # me-central-1 is a real region this account has not opted in to: AWS refuses the keys.
        p = ecsh("--region", "eu-west-1", "--region", "me-central-1", "ls", "clusters")
        err = [ln for ln in p.stderr.splitlines() if ln.startswith("ecsh: ")]
        check(p.returncode == 1 and "west" in p.stdout and len(err) == 1
              and err[0].startswith("ecsh: me-central-1: "),
              "a region that fails is said on its own line; the others are listed; exit 1",
              (p.returncode, p.stdout, p.stderr))
        p = ecsh("--region", "us-east-1", "--region", "eu-west-1", "exec", "--", "true")
        check(p.returncode == 252 and "only `ecsh ls`" in p.stderr,
              "other commands take one region (usage error)", (p.returncode, p.stderr))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sandbox", required=True)
    ap.add_argument("--ecsh", required=True)
    opts = ap.parse_args()
    with Sandbox(opts.sandbox) as sb:
        aws_checks(sb)
        ecsh_checks(sb, opts.ecsh)
    opted_in_checks(opts)
    span_checks(opts)
    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
