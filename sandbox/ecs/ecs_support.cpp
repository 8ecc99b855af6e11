#include "sandbox/ecs/ecs_support.hpp"

#include "ecsh/common/crypto.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>

namespace ecsh::sandbox::ecs {

std::int64_t get_int(const json::object& o, std::string_view key, std::int64_t fallback) {
  return get_integer(o, key).value_or(fallback);
}

std::string hex_id(std::size_t bytes) { return crypto::hex(crypto::random_bytes(bytes)); }
std::string last_segment(std::string_view arn) {
  auto slash = arn.rfind('/');
  return std::string(slash == std::string_view::npos ? arn : arn.substr(slash + 1));
}

std::string family_of(std::string_view def_arn) {
  std::string last = last_segment(def_arn);
  return last.substr(0, last.rfind(':'));
}
std::string revision_of(std::string_view def_arn) {
  std::string last = last_segment(def_arn);
  auto colon = last.rfind(':');
  return colon == std::string::npos ? std::string() : last.substr(colon + 1);
}
std::string docker_name(std::string_view def_arn, const std::string& container) {
  std::string name =
      "ecs-" + family_of(def_arn) + "-" + revision_of(def_arn) + "-" + container + "-" + hex_id(10);
  for (auto& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.')
      ch = '-';
  }
  return name;
}

ApiError invalid(std::string message) {
  return ApiError::client("InvalidParameterException", std::move(message));
}
ApiError cluster_not_found() {
  return ApiError::client("ClusterNotFoundException", "Cluster not found.");
}

ApiResult<json::value> list_page(json::array all, const json::object& request, std::string_view key,
                                 std::int64_t default_max) {
  std::int64_t max = default_max;
  if (auto* m = request.if_contains("maxResults")) {
    if (!m->is_int64() || m->as_int64() < 1 || m->as_int64() > 100) {
      return invalid("maxResults must be between 1 and 100.");
    }
    max = m->as_int64();
  }
  // The token names where the next page starts; opaque to clients, as ECS's are.
  constexpr std::string_view kTokenMagic = "ecsh-sandbox-page:";
  std::size_t start = 0;
  if (std::string token = get(request, "nextToken"); !token.empty()) {
    auto decoded = crypto::base64_decode(token);
    if (!decoded || !decoded->starts_with(kTokenMagic)) return invalid("Invalid token.");
    try {
      start = std::stoul(decoded->substr(kTokenMagic.size()));
    } catch (const std::exception&) {
      return invalid("Invalid token.");
    }
    if (start > all.size()) return invalid("Invalid token.");
  }
  std::size_t end = std::min(all.size(), start + static_cast<std::size_t>(max));
  json::array page;
  for (std::size_t i = start; i < end; ++i) page.push_back(std::move(all[i]));
  json::object out{{key, std::move(page)}};
  if (end < all.size()) {
    out["nextToken"] = crypto::base64_encode(std::string(kTokenMagic) + std::to_string(end));
  }
  return out;
}

}  // namespace ecsh::sandbox::ecs
