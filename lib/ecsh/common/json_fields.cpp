#include "ecsh/common/json_fields.hpp"

#include <boost/json/parse.hpp>

#include <cmath>
#include <limits>

namespace ecsh {
namespace json = boost::json;

namespace {

// An integer whatever its representation: int64, uint64 within range, or an integral double
// within range (some services write 3.0 for 3).
std::optional<std::int64_t> as_integer(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::nullopt;
    return static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    double d = v.get_double();
    // 2^63 is exactly representable; anything below it fits.
    if (std::isfinite(d) && d == std::trunc(d) && d >= -9223372036854775808.0 &&
        d < 9223372036854775808.0) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

}  // namespace

boost::json::object with_schema(std::string_view schema, boost::json::object fields) {
  boost::json::object doc;
  doc.reserve(fields.size() + 1);
  doc["schema"] = schema;
  for (auto& field : fields) {
    if (field.key() != "schema") doc[field.key()] = std::move(field.value());
  }
  return doc;
}

std::string_view json_kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      return "an object";
    case json::kind::array:
      return "an array";
    case json::kind::string:
      return "a string";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a number";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::null:
      return "null";
  }
  return "a JSON value";
}

Result<json::object> parse_json_object(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Error::protocol(std::string(what) + " is not valid JSON: " + ec.message());
  if (!v.is_object()) {
    return Error::protocol(std::string(what) + " is " + std::string(json_kind_name(v)) +
                           ", not a JSON object");
  }
  return std::move(v.get_object());
}

JsonFields::JsonFields(const json::object& object, std::string where, bool in_document)
    : object_(&object), where_(std::move(where)), in_document_(in_document) {}

Result<JsonFields> JsonFields::of(const json::value& value, std::string where, bool in_document) {
  if (!value.is_object()) {
    return Error::protocol(where + " is " + std::string(json_kind_name(value)) + ", not an object");
  }
  return JsonFields(value.get_object(), std::move(where), in_document);
}

std::string JsonFields::where(std::string_view key) const {
  std::string out = where_;
  out += in_document_ ? "." : ": ";
  out += key;
  return out;
}

bool JsonFields::has(std::string_view key) const { return find(key) != nullptr; }

const json::value* JsonFields::find(std::string_view key) const {
  const json::value* v = object_->if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

Error JsonFields::wrong_type(std::string_view key, const json::value& v,
                             std::string_view expected) const {
  return Error::protocol(where(key) + " is " + std::string(json_kind_name(v)) + ", not " +
                         std::string(expected));
}

Error JsonFields::missing(std::string_view key) const {
  return Error::protocol(where(key) + " is missing");
}

Result<std::optional<std::string>> JsonFields::optional_string(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) return wrong_type(key, *v, "a string");
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::optional<std::int64_t>> JsonFields::optional_int(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return std::optional<std::int64_t>();
  auto n = as_integer(*v);
  if (!n) {
    if (v->is_number()) return Error::protocol(where(key) + " is not an integer in range");
    return wrong_type(key, *v, "an integer");
  }
  return std::optional<std::int64_t>(*n);
}

Result<std::optional<double>> JsonFields::optional_number(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return std::optional<double>();
  if (!v->is_number()) return wrong_type(key, *v, "a number");
  boost::system::error_code ec;
  double d = v->to_number<double>(ec);
  if (ec) return Error::protocol(where(key) + " is not a number in range");
  return std::optional<double>(d);
}

Result<std::optional<bool>> JsonFields::optional_bool(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return std::optional<bool>();
  if (!v->is_bool()) return wrong_type(key, *v, "a boolean");
  return std::optional<bool>(v->get_bool());
}

Result<std::optional<JsonFields>> JsonFields::optional_object(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return std::optional<JsonFields>();
  if (!v->is_object()) return wrong_type(key, *v, "an object");
  return std::optional<JsonFields>(JsonFields(v->get_object(), where(key), true));
}

Result<const json::array*> JsonFields::optional_array(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return static_cast<const json::array*>(nullptr);
  if (!v->is_array()) return wrong_type(key, *v, "an array");
  return &v->get_array();
}

Result<std::string> JsonFields::string_or(std::string_view key, std::string_view fallback) const {
  ECSH_TRY(auto v, optional_string(key));
  return v ? std::move(*v) : std::string(fallback);
}

Result<std::int64_t> JsonFields::int_or(std::string_view key, std::int64_t fallback) const {
  ECSH_TRY(auto v, optional_int(key));
  return v.value_or(fallback);
}

Result<bool> JsonFields::bool_or(std::string_view key, bool fallback) const {
  ECSH_TRY(auto v, optional_bool(key));
  return v.value_or(fallback);
}

Result<std::string> JsonFields::string(std::string_view key) const {
  ECSH_TRY(auto v, optional_string(key));
  if (!v) return missing(key);
  return std::move(*v);
}

Result<std::int64_t> JsonFields::integer(std::string_view key) const {
  ECSH_TRY(auto v, optional_int(key));
  if (!v) return missing(key);
  return *v;
}

Result<bool> JsonFields::boolean(std::string_view key) const {
  ECSH_TRY(auto v, optional_bool(key));
  if (!v) return missing(key);
  return *v;
}

Result<JsonFields> JsonFields::object(std::string_view key) const {
  ECSH_TRY(auto v, optional_object(key));
  if (!v) return missing(key);
  return std::move(*v);
}

Result<std::vector<JsonFields>> JsonFields::objects(std::string_view key) const {
  ECSH_TRY(auto a, optional_array(key));
  if (!a) return std::vector<JsonFields>();
  return json_objects(*a, where(key));
}

Result<std::vector<std::string>> JsonFields::strings(std::string_view key) const {
  ECSH_TRY(auto a, optional_array(key));
  if (!a) return std::vector<std::string>();
  return json_strings(*a, where(key));
}

Result<std::map<std::string, std::string>> JsonFields::string_map(std::string_view key) const {
  ECSH_TRY(auto o, optional_object(key));
  std::map<std::string, std::string> out;
  if (!o) return out;
  for (const auto& [k, v] : o->raw()) {
    if (!v.is_string()) return o->wrong_type(k, v, "a string");
    out.emplace(std::string(k), std::string(v.get_string()));
  }
  return out;
}

Result<std::vector<JsonFields>> json_objects(const json::array& array, std::string_view where) {
  std::vector<JsonFields> out;
  out.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    std::string at = std::string(where) + "[" + std::to_string(i) + "]";
    ECSH_TRY(auto item, JsonFields::of(array[i], std::move(at), true));
    out.push_back(std::move(item));
  }
  return out;
}

Result<std::vector<std::string>> json_strings(const json::array& array, std::string_view where) {
  std::vector<std::string> out;
  out.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_string()) {
      return Error::protocol(std::string(where) + "[" + std::to_string(i) + "] is " +
                             std::string(json_kind_name(array[i])) + ", not a string");
    }
    out.emplace_back(array[i].get_string());
  }
  return out;
}

}  // namespace ecsh
