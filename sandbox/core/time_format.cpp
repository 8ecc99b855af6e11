#include "sandbox/core/time_format.hpp"

#include <cstdio>
#include <ctime>

namespace ecsh::sandbox {

namespace {
// `t` in UTC by strftime's `format` (the C locale's English names).
std::string utc(std::chrono::system_clock::time_point t, const char* format) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}
}  // namespace

std::string iso8601(std::chrono::system_clock::time_point t) {
  return utc(t, "%Y-%m-%dT%H:%M:%SZ");
}

std::string http_date(std::chrono::system_clock::time_point t) {
  return utc(t, "%a, %d %b %Y %H:%M:%S GMT");
}

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text) {
  if (text.size() < 20) return std::nullopt;
  std::tm tm{};
  std::string s(text.substr(0, 19));
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

double epoch_seconds(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return static_cast<double>(ms) / 1000.0;
}

}  // namespace ecsh::sandbox
