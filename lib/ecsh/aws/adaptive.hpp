#pragma once

// The "adaptive" retry mode's client-side rate limiter, as botocore implements it
// (botocore/retries/adaptive.py, throttling.py, bucket.py): a token bucket whose rate follows
// CUBIC — cut to 70% of the measured send rate on a throttling error, growing back along a
// cubic curve on success. Off until the first throttling error. Pure: time is a parameter
// (seconds on any monotonic scale).

namespace ecsh::aws {

class ClientRateLimiter {
 public:
  explicit ClientRateLimiter(double now);

  // Before a request: seconds to wait before sending (0 when a token is there). The token is
  // taken, as if the caller waits that long.
  double before_send(double now);
  // After every response (or connection failure).
  void after_response(bool throttled, double now);

  bool enabled() const { return enabled_; }
  double max_rate() const { return fill_rate_; }
  double measured_rate() const { return measured_rate_; }

 private:
  void set_max_rate(double rate, double now);
  void refill(double now);
  double record(double now);

  // CUBIC
  double w_max_ = 0;
  double k_ = 0;
  double last_fail_;
  // token bucket
  double fill_rate_ = 0;
  double max_capacity_ = 1;
  double capacity_ = 0;
  double last_refill_ = -1;
  // rate clocker
  double measured_rate_ = 0;
  double last_bucket_;
  double count_ = 0;

  bool enabled_ = false;
};

}  // namespace ecsh::aws
