#include "ecsh/aws/http_types.hpp"

#include "ecsh/common/strings.hpp"

#include <algorithm>

namespace ecsh::aws {
namespace {
std::optional<std::string_view> find_header(const std::vector<Header>& headers,
                                            std::string_view name) {
  for (const auto& h : headers) {
    if (str::iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}
}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  return find_header(headers, name);
}

void HttpRequest::set_header(std::string_view name, std::string value) {
  remove_header(name);
  headers.push_back({std::string(name), std::move(value)});
}

void HttpRequest::remove_header(std::string_view name) {
  std::erase_if(headers, [&](const Header& h) { return str::iequals(h.name, name); });
}

std::string HttpRequest::url() const {
  std::string out = scheme + "://" + host + path;
  if (!query.empty()) out += "?" + query;
  return out;
}

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  return find_header(headers, name);
}

std::string Endpoint::authority() const {
  bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  return default_port ? host : host + ":" + std::to_string(port);
}

std::string Endpoint::url() const { return scheme + "://" + authority() + base_path; }

}  // namespace ecsh::aws
