#include "sandbox/core/json_members.hpp"

namespace ecsh::sandbox {

std::string get(const boost::json::object& o, std::string_view key, std::string fallback) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::move(fallback);
}

bool get_bool(const boost::json::object& o, std::string_view key, bool fallback) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() ? v->as_bool() : fallback;
}

std::optional<std::int64_t> get_integer(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());  // 1.7e12, 100.0
  return std::nullopt;
}

const boost::json::object* get_obj(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

const boost::json::array* get_arr(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_array() ? &v->as_array() : nullptr;
}

}  // namespace ecsh::sandbox
