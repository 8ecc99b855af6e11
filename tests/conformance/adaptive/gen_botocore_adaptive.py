#!/usr/bin/env python3
"""Drives botocore's adaptive-mode rate limiter (its own classes) with a fake clock and a seeded
sequence of throttled/successful responses, and writes the rate after each one. The C++ test
replays the same sequence through ecsh's limiter and requires the same rates."""
import argparse
import json
import random

from botocore.retries import adaptive, bucket, throttling


class Clock:
    def __init__(self, t):
        self.t = t

    def current_time(self):
        return self.t


class Detector:
    throttled = False

    def is_throttling_error(self, **kwargs):
        return self.throttled


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    start = 1000.0
    clock = Clock(start)
    detector = Detector()
    limiter = adaptive.ClientRateLimiter(
        rate_adjustor=throttling.CubicCalculator(starting_max_rate=0, start_time=start),
        rate_clocker=adaptive.RateClocker(clock),
        token_bucket=bucket.TokenBucket(max_rate=1, clock=clock),
        throttling_detector=detector,
        clock=clock,
    )
    rng = random.Random(20261125)
    events = []
    for _ in range(600):
        clock.t += rng.choice([0.0, 0.01, 0.05, 0.2, 0.7, 1.5, 4.0])
        detector.throttled = rng.random() < 0.2
        limiter.on_receiving_response()
        events.append({"t": clock.t, "throttled": detector.throttled,
                       "max_rate": limiter._token_bucket.max_rate, "enabled": limiter._enabled})
    with open(args.out, "w") as f:
        json.dump({"start": start, "events": events}, f)


if __name__ == "__main__":
    main()
