#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::aws {

struct Header {
  std::string name;
  std::string value;
};

// A request as it goes on the wire: path and query are already percent-encoded exactly as sent
// (they are never re-encoded, so what is signed is what is sent).
struct HttpRequest {
  std::string method = "POST";
  std::string scheme = "https";
  std::string host;  // "host" or "host:port", as in the Host header
  std::string path = "/";
  std::string query;  // without '?'
  std::vector<Header> headers;
  std::string body;

  // First header with that name (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
  // Replaces every header of that name (case-insensitive) with one value.
  void set_header(std::string_view name, std::string value);
  void remove_header(std::string_view name);
  // scheme://host/path?query
  std::string url() const;
};

struct HttpResponse {
  int status = 0;
  std::vector<Header> headers;
  std::string body;

  std::optional<std::string_view> header(std::string_view name) const;
};

// An endpoint split into the parts a request needs. Parsed from "https://host[:port][/base]".
struct Endpoint {
  std::string scheme = "https";
  std::string host;  // without port
  std::uint16_t port = 443;
  std::string base_path;  // "" or "/prefix" (no trailing slash)

  // host, or host:port when the port is not the scheme's default: the Host header value.
  std::string authority() const;
  std::string url() const;
};

}  // namespace ecsh::aws
