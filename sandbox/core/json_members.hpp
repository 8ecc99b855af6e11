#pragma once

// Reading the members of a request's JSON body or of the state file, for every sandbox module.
// A member that is missing or of another type gives the fallback: AWS's own validation of a
// request (a required member, a wrong type) is done by the route that needs it.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ecsh::sandbox {

std::string get(const boost::json::object& o, std::string_view key, std::string fallback = {});
bool get_bool(const boost::json::object& o, std::string_view key, bool fallback = false);
// An integer member (a JSON integer, signed or not, or a number written with a fraction or an
// exponent, truncated); nothing when missing or not a number.
std::optional<std::int64_t> get_integer(const boost::json::object& o, std::string_view key);
const boost::json::object* get_obj(const boost::json::object& o, std::string_view key);
const boost::json::array* get_arr(const boost::json::object& o, std::string_view key);

}  // namespace ecsh::sandbox
