#include "sandbox/ecs/ecs_support.hpp"

#include "ecsh/common/crypto.hpp"

#include <cctype>
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

}  // namespace ecsh::sandbox::ecs
