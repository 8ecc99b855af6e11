#pragma once

// What the ECS files share besides the model: reading fields of requests, task definitions and
// the state file, the pieces of ECS ARNs and names, and ECS's common errors.

#include "sandbox/api.hpp"
#include "sandbox/core/json_members.hpp"

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ecsh::sandbox::ecs {

namespace json = boost::json;

inline constexpr std::string_view kAccount = "000000000000";
inline constexpr const char* kTargetPrefix = "AmazonEC2ContainerServiceV20141113";
inline constexpr const char* kNotEnabled =
    "The execute command failed because execute command was not enabled when the task was run "
    "or the execute command agent isn't running. Wait and try again or run a new task with "
    "execute command enabled and try again.";

// A member of `o`, or `fallback` when it is missing or of another type (core/json_members.hpp).
using sandbox::get;
using sandbox::get_arr;
using sandbox::get_bool;
using sandbox::get_obj;
std::int64_t get_int(const json::object& o, std::string_view key, std::int64_t fallback = 0);

// `bytes` random bytes in hex.
std::string hex_id(std::size_t bytes);
// What follows the last '/' of an ARN (or the whole string).
std::string last_segment(std::string_view arn);
// "arn:…:task-definition/web:3" → "web" and "3".
std::string family_of(std::string_view def_arn);
std::string revision_of(std::string_view def_arn);
// The ECS agent's container name: ecs-<family>-<revision>-<container>-<random hex>.
std::string docker_name(std::string_view def_arn, const std::string& container);

ApiError invalid(std::string message);
ApiError cluster_not_found();

// One page of a List* answer, as ECS pages them: `maxResults` (1 to 100; `default_max` when
// absent: 10 for ListServices, 100 for the others) and an opaque `nextToken` when more remain;
// {key: [...], "nextToken"?}. A token ECS did not give is InvalidParameterException.
ApiResult<json::value> list_page(json::array all, const json::object& request, std::string_view key,
                                 std::int64_t default_max);

}  // namespace ecsh::sandbox::ecs
