#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ecsh::str {

std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::vector<std::string_view> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// Escapes & < > " ' for XML and HTML text and attribute values.
std::string markup_escape(std::string_view s);

// RFC 3986 percent-encoding of everything but unreserved characters (A-Z a-z 0-9 - _ . ~);
// with keep_slash, '/' is left as is (SigV4 paths).
std::string uri_encode(std::string_view s, bool keep_slash = false);
// Decodes %XX; '+' stays '+'. Malformed escapes are kept literally.
std::string uri_decode(std::string_view s);

}  // namespace ecsh::str
