#include "ecsh/aws/adaptive.hpp"

#include <algorithm>
#include <cmath>

namespace ecsh::aws {
namespace {
constexpr double kScale = 0.4;  // CUBIC scale constant
constexpr double kBeta = 0.7;   // multiplicative decrease
constexpr double kMinRate = 0.5;
constexpr double kSmoothing = 0.8;
constexpr double kBucketSeconds = 0.5;
constexpr double kMaxRateAdjustScale = 2.0;

double zero_point(double w_max) { return std::cbrt(w_max * (1 - kBeta) / kScale); }
}  // namespace

ClientRateLimiter::ClientRateLimiter(double now) : last_fail_(now), last_bucket_(std::floor(now)) {
  k_ = zero_point(w_max_);
  set_max_rate(1, now);
}

void ClientRateLimiter::refill(double now) {
  if (last_refill_ < 0) {
    last_refill_ = now;
    return;
  }
  capacity_ = std::min(max_capacity_, capacity_ + (now - last_refill_) * fill_rate_);
  last_refill_ = now;
}

void ClientRateLimiter::set_max_rate(double rate, double now) {
  refill(now);
  fill_rate_ = std::max(rate, kMinRate);
  max_capacity_ = rate >= 1 ? rate : 1;
  capacity_ = std::min(capacity_, max_capacity_);
}

double ClientRateLimiter::before_send(double now) {
  if (!enabled_) return 0;
  refill(now);
  if (capacity_ >= 1) {
    capacity_ -= 1;
    return 0;
  }
  double wait = (1 - capacity_) / fill_rate_;
  capacity_ = 0;
  last_refill_ = now + wait;
  return wait;
}

double ClientRateLimiter::record(double now) {
  double bucket = std::floor(now / kBucketSeconds) * kBucketSeconds;
  count_ += 1;
  if (bucket > last_bucket_) {
    double current = count_ / (bucket - last_bucket_);
    measured_rate_ = current * kSmoothing + measured_rate_ * (1 - kSmoothing);
    count_ = 0;
    last_bucket_ = bucket;
  }
  return measured_rate_;
}

void ClientRateLimiter::after_response(bool throttled, double now) {
  double measured = record(now);
  double new_rate;
  if (!throttled) {
    double dt = now - last_fail_;
    new_rate = kScale * std::pow(dt - k_, 3) + w_max_;
  } else {
    double rate_to_use = enabled_ ? std::min(measured, fill_rate_) : measured;
    w_max_ = rate_to_use;
    k_ = zero_point(w_max_);
    last_fail_ = now;
    new_rate = rate_to_use * kBeta;
    enabled_ = true;
  }
  set_max_rate(std::min(new_rate, kMaxRateAdjustScale * measured), now);
}

}  // namespace ecsh::aws
