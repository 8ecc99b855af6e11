#pragma once

#include <chrono>

namespace ecsh {

// Injected wherever time matters (SigV4, credential expiry, retransmission) so that tests pin it.
class Clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
};

class SystemClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::system_clock::now(); }
  static const SystemClock& instance() {
    static const SystemClock clock;
    return clock;
  }
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(time_point t) : t_(t) {}
  time_point now() const override { return t_; }
  void set(time_point t) { t_ = t; }
  void advance(std::chrono::milliseconds d) { t_ += d; }

 private:
  time_point t_;
};

}  // namespace ecsh
