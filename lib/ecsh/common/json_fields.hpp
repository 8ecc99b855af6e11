#pragma once

// Typed access to the fields of a JSON document from a peer (an AWS service's reply, mostly).
// A field that is absent (or null) is absent: std::nullopt, a fallback, or an error when it is
// required. A field of another type than asked is a protocol error that names it by its path
// ("the DescribeTasks response: tasks[2].containers[0].exitCode is a string, not an integer"),
// never an exception: boost::json's as_string() and friends throw on the wrong kind, and an
// exception escaping a command is reported as an internal error.

#include "ecsh/common/error.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh {

// Parses `text` as a JSON object; invalid JSON or another kind of value is a protocol error
// naming `what` ("the DescribeTasks response").
Result<boost::json::object> parse_json_object(std::string_view text, std::string_view what);

// "an object", "an array", "a string", "an integer", "a number", "a boolean", "null".
std::string_view json_kind_name(const boost::json::value& v);

// A document ecsh prints (--output json): `schema` ("ecsh.why.task/1") first, then `fields` in
// their order (a field named schema among them gives way to the one given).
boost::json::object with_schema(std::string_view schema, boost::json::object fields);

// One JSON object and where it is in its document, for messages. It refers to the object: the
// document must outlive it.
class JsonFields {
 public:
  // `where` names the object: the document ("the DescribeTasks response"), or with
  // `in_document` false a path in one ("the DescribeTasks response: tasks[2]").
  JsonFields(const boost::json::object& object, std::string where, bool in_document = false);
  // `value` must be an object.
  static Result<JsonFields> of(const boost::json::value& value, std::string where,
                               bool in_document = false);

  const boost::json::object& raw() const { return *object_; }
  // Where this object is: "the DescribeTasks response: tasks[2]".
  const std::string& where() const { return where_; }
  // Where one of its fields is: "the DescribeTasks response: tasks[2].taskArn".
  std::string where(std::string_view key) const;

  // Present and not null.
  bool has(std::string_view key) const;

  // Optional fields: absent or null gives std::nullopt; another type is an error.
  Result<std::optional<std::string>> optional_string(std::string_view key) const;
  Result<std::optional<std::int64_t>> optional_int(std::string_view key) const;  // integral
  Result<std::optional<double>> optional_number(std::string_view key) const;     // any number
  Result<std::optional<bool>> optional_bool(std::string_view key) const;
  Result<std::optional<JsonFields>> optional_object(std::string_view key) const;
  Result<const boost::json::array*> optional_array(std::string_view key) const;  // nullptr: absent

  // Optional fields with a fallback for absent (or null) ones.
  Result<std::string> string_or(std::string_view key, std::string_view fallback = {}) const;
  Result<std::int64_t> int_or(std::string_view key, std::int64_t fallback) const;
  Result<bool> bool_or(std::string_view key, bool fallback) const;

  // Required fields: absent (or null) is an error too.
  Result<std::string> string(std::string_view key) const;
  Result<std::int64_t> integer(std::string_view key) const;
  Result<bool> boolean(std::string_view key) const;
  Result<JsonFields> object(std::string_view key) const;

  // Arrays and maps; absent (or null) gives an empty one. Every element must be of the kind.
  Result<std::vector<JsonFields>> objects(std::string_view key) const;
  Result<std::vector<std::string>> strings(std::string_view key) const;
  Result<std::map<std::string, std::string>> string_map(std::string_view key) const;

  // The error for field `key` when it is not what is expected: "… is a number, not a string".
  Error wrong_type(std::string_view key, const boost::json::value& v,
                   std::string_view expected) const;
  Error missing(std::string_view key) const;

 private:
  const boost::json::value* find(std::string_view key) const;  // nullptr when absent or null

  const boost::json::object* object_;
  std::string where_;
  bool in_document_;  // where_ is a path in a document, not the document itself
};

// The elements of an array as objects, or as strings: each must be one. `where` names the array
// ("the ListClusters response: clusterArns"), its elements are where[0], where[1]…
Result<std::vector<JsonFields>> json_objects(const boost::json::array& array,
                                             std::string_view where);
Result<std::vector<std::string>> json_strings(const boost::json::array& array,
                                              std::string_view where);

}  // namespace ecsh
