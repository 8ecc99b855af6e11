#!/usr/bin/env python3
"""Differential SigV4 vectors from botocore (the reference the AWS CLI signs with).

Generates randomised requests with a fixed seed, signs each with botocore.auth.SigV4Auth (and
SigV4QueryAuth for presigned URLs) at a fixed, per-request time, and writes one JSON object per
line. sigv4_conformance_test.cpp signs the same requests with ecsh and requires identical output.

Run with the Debian interpreter that has python3-botocore (1.29):
    python3 gen_botocore_vectors.py --out vectors.jsonl [--count N] [--seed S]
    python3 gen_botocore_vectors.py --check-determinism

Deterministic: the same seed gives byte-identical output (no set or hash-order dependence).
"""

import argparse
import base64
import datetime
import json
import random
import sys
from unittest import mock

try:
    import botocore
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as e:  # pragma: no cover
    sys.exit(f"gen_botocore_vectors: botocore is not importable ({e}); "
             "install python3-botocore or set ECSH_BOTOCORE_PYTHON")


class FrozenDateTime(datetime.datetime):
    """datetime.datetime with utcnow() pinned, as botocore's own tests freeze the clock."""
    frozen = None

    @classmethod
    def utcnow(cls):
        return cls.frozen


class CapturingSigV4Auth(botocore.auth.SigV4Auth):
    def canonical_request(self, request):
        self.captured = super().canonical_request(request)
        return self.captured


class CapturingSigV4QueryAuth(botocore.auth.SigV4QueryAuth):
    def canonical_request(self, request):
        self.captured = super().canonical_request(request)
        return self.captured


METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "get", "Post"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1",
           "eu-central-2"]
SERVICES = ["ecs", "ssm", "sts", "ssmmessages", "logs", "iam", "kms", "ec2", "execute-api"]
HOSTS = [
    ("https", "ecs.us-east-1.amazonaws.com"),
    ("https", "SSM.EU-WEST-1.AmazonAWS.com"),
    ("https", "localhost:8443"),
    ("https", "127.0.0.1:443"),
    ("http", "127.0.0.1:80"),
    ("http", "localhost:443"),
    ("http", "Example.COM:8080"),
    ("https", "[::1]:8443"),
    ("https", "[::1]"),
    ("https", "[FE80::1]:443"),
    ("https", "sts.amazonaws.com"),
]
PATH_SEGMENTS = [
    "", ".", "..", "a", "b", "foo", "foo bar", "foo%20bar", "%2F", "%2f", "%2E%2E", "%2e",
    "é", "%C3%A9", "日本", "%E6%97%A5", "\U0001F600", "~user", "a+b", "a%2Bb",
    "!$&'()*,;=:@", "%41%7e", "%zz", "%", "x%", "...", ".a", "a.", "-_.~", "UPPER", "2015",
    "v1", "tasks", "%00", "semi;colon", "quote\"", "brace{}", "pipe|", "back\\slash", "^`",
]
QUERY_KEYS = [
    "Action", "Version", "a", "A", "b", "B", "key", "a-b", "a.b", "a_b", "a~b", "Z", "",
    "%20", "a%20b", "a+b", "a b", "é", "%C3%A9", "X-Amz-Date", "x-amz-meta", "%7E", "~",
    "list.member.1", "list.member.10", "list.member.2", "1", "%2F", "=",
]
QUERY_VALUES = [
    "", "1", "2", "10", "ListUsers", "2010-05-08", "v a l", "v%20al", "v+al", "%2F", "/", "=",
    "a=b", "é", "%C3%A9", "%FF", "%C3", "%E2%82", "%zz", "%", "true", "*", "%2A", "日本",
    "a;b", "a,b", "'quoted'", "%F0%9F%98%80", "%ED%A0%80", "%C0%AF",
]
HEADER_NAMES = [
    "Content-Type", "X-Amz-Target", "X-Amz-Meta-Foo", "X-Custom", "Accept", "User-Agent",
    "Expect", "X-Amzn-Trace-Id", "Content-Length", "X-Amz-Date", "Date", "X-Amz-Security-Token",
    "Authorization", "Host", "X-Amz-Content-SHA256", "Accept-Encoding", "X-Amz-User-Agent",
    "Content-Encoding", "X-Amz-Api-Version", "amz-sdk-invocation-id", "amz-sdk-request",
    "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
]
# Every character Python's str.split() treats as whitespace, which botocore folds.
UNICODE_WS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680",
              "\u2000", "\u2003", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
# Near misses that are NOT whitespace for str.split().
NOT_WS = ["\u200b", "\u180e", "\ufeff", "\x00", "\x7f", "\u2060"]
VALUE_WORDS = ["application/x-amz-json-1.1", "AmazonEC2ContainerServiceV20141113.ExecuteCommand",
               "x", "foo", "bar", "a,b", "\"quoted  value\"", "é", "日本", "\U0001F600", "=",
               "gzip", "UNSIGNED-PAYLOAD", "0", "text/plain; charset=utf-8"]


def rand_case(rng, s):
    mode = rng.randrange(4)
    if mode == 0:
        return s
    if mode == 1:
        return s.lower()
    if mode == 2:
        return s.upper()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in s)


def rand_ws(rng):
    choice = rng.randrange(10)
    if choice < 4:
        return " " * rng.randint(1, 3)
    if choice < 6:
        return rng.choice(["\t", " \t ", "\r\n ", "\n\t", "\r\n\t "])
    return "".join(rng.choice(UNICODE_WS + [" "]) for _ in range(rng.randint(1, 2)))


def rand_header_value(rng):
    kind = rng.randrange(12)
    if kind == 0:
        return ""
    if kind == 1:
        return rand_ws(rng)
    words = [rng.choice(VALUE_WORDS + NOT_WS) for _ in range(rng.randint(1, 4))]
    out = rand_ws(rng) if rng.random() < 0.4 else ""
    for i, w in enumerate(words):
        if i:
            out += rand_ws(rng) if rng.random() < 0.7 else ""
        out += w
    if rng.random() < 0.4:
        out += rand_ws(rng)
    return out


def rand_path(rng, allow_unsafe):
    n = rng.randint(0, 6)
    segs = [rng.choice(PATH_SEGMENTS) for _ in range(n)]
    path = "/" + "/".join(segs)
    r = rng.random()
    if r < 0.15:
        path += "/"
    elif r < 0.2:
        path = "//" + path.lstrip("/")
    if rng.random() < 0.05:
        path = ""
    if allow_unsafe and path and rng.random() < 0.04:
        # urlsplit deletes TAB/CR/LF and cuts at '#': never on the wire, but pinned anyway.
        pos = rng.randint(1, len(path))  # after the leading '/': it must stay a path
        path = path[:pos] + rng.choice(["\t", "\r\n", "#frag", "%09"]) + path[pos:]
    return path


def rand_query(rng, allow_unsafe):
    if rng.random() < 0.2:
        return ""
    parts = []
    for _ in range(rng.randint(1, 7)):
        k = rng.choice(QUERY_KEYS)
        form = rng.randrange(6)
        if form == 0:
            parts.append(k)  # key without '='
        elif form == 1:
            parts.append(k + "=")
        else:
            parts.append(k + "=" + rng.choice(QUERY_VALUES))
    if rng.random() < 0.3 and parts:
        parts.append(parts[0])  # repeated pair
    if rng.random() < 0.3:
        rng.shuffle(parts)
    q = "&".join(parts)
    r = rng.random()
    if r < 0.1:
        q = "&" + q
    elif r < 0.2:
        q += "&"
    elif r < 0.25:
        q = q.replace("&", "&&", 1)
    if allow_unsafe and rng.random() < 0.03:
        q += rng.choice(["#frag", "&a=b?c", "\t"])
    return q


def rand_body(rng):
    kind = rng.randrange(5)
    if kind == 0:
        return b""
    if kind == 1:
        return json.dumps({"cluster": "c", "task": "t" * rng.randint(0, 40)}).encode()
    if kind == 2:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
    if kind == 3:
        return "Action=ListUsers&Version=2010-05-08".encode()
    return "é日本\U0001F600".encode() * rng.randint(1, 3)


def rand_creds(rng):
    akid = rng.choice(["AKIA", "ASIA"]) + "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    secret = "".join(rng.choice(alphabet) for _ in range(40))
    if rng.random() < 0.03:
        secret += "é"  # botocore UTF-8 encodes the key
    token = None
    if rng.random() < 0.5:
        token = "".join(rng.choice(alphabet + "=") for _ in range(rng.randint(20, 400)))
    return akid, secret, token


def rand_time(rng):
    # 2000-01-01 .. 2037-12-31, with microseconds (botocore truncates them).
    start = datetime.datetime(2000, 1, 1)
    return start + datetime.timedelta(seconds=rng.randrange(38 * 365 * 86400),
                                      microseconds=rng.randrange(1000000))


def epoch_us(t):
    delta = t - datetime.datetime(1970, 1, 1)
    return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds


def rand_headers(rng, allow_host, presign):
    headers = []
    for _ in range(rng.randint(0, 7)):
        name = rng.choice(HEADER_NAMES)
        if name == "Host" and not allow_host:
            continue
        if name == "Date" and rng.random() < 0.5:
            continue
        value = rand_header_value(rng)
        if name == "Host":
            value = rng.choice(["", " "]) + rand_case(rng, "custom.example.com") + rng.choice(
                ["", ":8443", " "])
        if name == "X-Amz-Content-SHA256":
            # Used verbatim (untrimmed) as the payload hash.
            value = rng.choice(["UNSIGNED-PAYLOAD", " UNSIGNED-PAYLOAD ",
                                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"])
        headers.append([rand_case(rng, name), value])
        if rng.random() < 0.15:  # duplicate header (HTTPHeaders keeps both; signed "v1,v2")
            headers.append([rand_case(rng, name), rand_header_value(rng)])
    if presign and rng.random() < 0.2:
        headers.append(["Content-Type", rng.choice(
            ["application/x-www-form-urlencoded; charset=utf-8", "application/json"])])
    return headers


def make_request(rng, presign):
    scheme, host = rng.choice(HOSTS)
    # botocore only brackets an IPv6 Host when the whole URL has no TAB/CR/LF
    # (is_valid_ipv6_endpoint_url), an accident ecsh does not reproduce: never both.
    ipv6 = host.startswith("[")
    path = rand_path(rng, allow_unsafe=not presign and not ipv6)
    query = rand_query(rng, allow_unsafe=not presign and not ipv6)
    headers = rand_headers(rng, allow_host=rng.random() < 0.5, presign=presign)
    method = rng.choice(METHODS)
    body = b"" if presign else rand_body(rng)
    return method, scheme, host, path, query, headers, body


def build_aws_request(method, scheme, host, path, query, headers, body):
    url = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        req.headers[name] = value  # HTTPHeaders appends: duplicates are kept
    return req


def record(kind, method, scheme, host, path, query, headers, body, creds, region, service,
           when):
    akid, secret, token = creds
    return {
        "kind": kind,
        "method": method,
        "scheme": scheme,
        "host": host,
        "path": path,
        "query": query,
        "headers": headers,
        "body_b64": base64.b64encode(body).decode(),
        "access_key_id": akid,
        "secret_access_key": secret,
        "session_token": token or "",
        "region": region,
        "service": service,
        "time_us": epoch_us(when),
    }


def sign_one(rng):
    method, scheme, host, path, query, headers, body = make_request(rng, presign=False)
    creds = rand_creds(rng)
    region, service = rng.choice(REGIONS), rng.choice(SERVICES)
    when = rand_time(rng)
    req = build_aws_request(method, scheme, host, path, query, headers, body)
    signer = CapturingSigV4Auth(Credentials(*creds), service, region)
    FrozenDateTime.frozen = when
    signer.add_auth(req)
    rec = record("sign", method, scheme, host, path, query, headers, body, creds, region,
                 service, when)
    rec["expected_authorization"] = req.headers["Authorization"]
    rec["expected_headers"] = [[k, v] for k, v in req.headers.items()]
    rec["expected_canonical_request"] = signer.captured
    return rec


def presign_one(rng):
    method, scheme, host, path, query, headers, body = make_request(rng, presign=True)
    method = rng.choice(["GET", "GET", "POST"])
    creds = rand_creds(rng)
    region, service = rng.choice(REGIONS), rng.choice(SERVICES)
    when = rand_time(rng)
    expires = rng.choice([1, 60, 300, 3600, 604800])
    req = build_aws_request(method, scheme, host, path, query, headers, body)
    signer = CapturingSigV4QueryAuth(Credentials(*creds), service, region, expires=expires)
    FrozenDateTime.frozen = when
    signer.add_auth(req)
    prefix = f"{scheme}://{host}{path}?"
    if not req.url.startswith(prefix):
        raise RuntimeError(f"unexpected presigned URL shape: {req.url!r}")
    rec = record("presign", method, scheme, host, path, query, headers, body, creds, region,
                 service, when)
    rec["expires"] = expires
    rec["expected_query"] = req.url[len(prefix):]
    rec["expected_canonical_request"] = signer.captured
    return rec


def classic_vector():
    """The AWS documentation example (IAM ListUsers), pinned as the first line."""
    when = datetime.datetime(2015, 8, 30, 12, 36, 0)
    creds = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
    headers = [["Content-Type", "application/x-www-form-urlencoded; charset=utf-8"]]
    method, scheme, host, path, query = ("GET", "https", "iam.amazonaws.com", "/",
                                         "Action=ListUsers&Version=2010-05-08")
    req = build_aws_request(method, scheme, host, path, query, headers, b"")
    signer = CapturingSigV4Auth(Credentials(*creds), "iam", "us-east-1")
    FrozenDateTime.frozen = when
    signer.add_auth(req)
    rec = record("sign", method, scheme, host, path, query, headers, b"", creds, "us-east-1",
                 "iam", when)
    rec["expected_authorization"] = req.headers["Authorization"]
    rec["expected_headers"] = [[k, v] for k, v in req.headers.items()]
    rec["expected_canonical_request"] = signer.captured
    return rec


def check_determinism(argv0):
    """Runs the generator twice with different hash seeds; fails if the outputs differ."""
    import filecmp
    import os
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        outs = []
        for hash_seed in ("1", "2"):
            out = os.path.join(tmp, f"v{hash_seed}.jsonl")
            env = dict(os.environ, PYTHONHASHSEED=hash_seed)
            subprocess.run([sys.executable, argv0, "--out", out], env=env, check=True)
            outs.append(out)
        if not filecmp.cmp(outs[0], outs[1], shallow=False):
            sys.exit("gen_botocore_vectors: output differs between runs: not deterministic")
    print("gen_botocore_vectors: deterministic", file=sys.stderr)


def main():
    if "--check-determinism" in sys.argv[1:]:
        check_determinism(sys.argv[0])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=1500, help="signed-header requests")
    ap.add_argument("--presign-count", type=int, default=500)
    ap.add_argument("--seed", type=int, default=20150830)
    args = ap.parse_args()

    if not botocore.__version__.startswith("1.29."):
        print(f"gen_botocore_vectors: note: botocore {botocore.__version__} "
              "(the reference is 1.29)", file=sys.stderr)
    rng = random.Random(args.seed)
    with mock.patch("botocore.auth.datetime.datetime", FrozenDateTime), \
            open(args.out, "w", encoding="utf-8", newline="\n") as out:
        out.write(json.dumps(classic_vector(), ensure_ascii=True) + "\n")
        for _ in range(args.count):
            out.write(json.dumps(sign_one(rng), ensure_ascii=True) + "\n")
        for _ in range(args.presign_count):
            out.write(json.dumps(presign_one(rng), ensure_ascii=True) + "\n")
    print(f"gen_botocore_vectors: wrote {1 + args.count} sign and {args.presign_count} "
          f"presign vectors (botocore {botocore.__version__}) to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
