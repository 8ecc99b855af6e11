// The one Asio/Beast include for ecsh. Compile definitions come from the ecsh_asio target
// (separate compilation); include this instead of boost/asio.hpp directly.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ecsh {
namespace asio = boost::asio;
// A coroutine's result: Awaitable<T> (not "Task", which in this code base is an ECS task).
template <class T>
using Awaitable = asio::awaitable<T>;
inline constexpr auto use_awaitable_nothrow = asio::as_tuple(asio::use_awaitable);
}  // namespace ecsh
