#pragma once

// Timestamps as AWS writes them: ISO 8601 in XML (2026-11-25T06:00:00Z), epoch seconds in JSON,
// RFC 7231 in the HTTP Date header (Mon, 07 Dec 2026 21:12:00 GMT).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ecsh::sandbox {

std::string iso8601(std::chrono::system_clock::time_point t);
std::string http_date(std::chrono::system_clock::time_point t);
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);
// Seconds since the epoch with millisecond precision, as JSON 1.1 services send timestamps.
double epoch_seconds(std::chrono::system_clock::time_point t);

}  // namespace ecsh::sandbox
