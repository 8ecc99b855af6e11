#include "ecsh/aws/read_cache.hpp"

#include "ecsh/common/wakeup.hpp"

#include <map>
#include <optional>

namespace ecsh::aws {

namespace {

std::string form_value(std::string_view form, std::string_view key) {
  std::size_t pos = 0;
  while (pos <= form.size()) {
    std::size_t end = form.find('&', pos);
    if (end == std::string_view::npos) end = form.size();
    std::string_view pair = form.substr(pos, end - pos);
    if (pair.size() > key.size() && pair.substr(0, key.size()) == key && pair[key.size()] == '=') {
      return std::string(pair.substr(key.size() + 1));
    }
    pos = end + 1;
  }
  return {};
}

}  // namespace

std::string operation_of(const HttpRequest& request) {
  if (auto target = request.header("X-Amz-Target")) {
    auto dot = target->rfind('.');
    return std::string(dot == std::string_view::npos ? *target : target->substr(dot + 1));
  }
  std::string action = form_value(request.body, "Action");
  if (action.empty()) action = form_value(request.query, "Action");
  return action;
}

struct ReadCache::Impl {
  struct Entry {
    std::optional<HttpResponse> response;  // set once the first call came back 2xx
    bool in_flight = false;
    std::shared_ptr<Wakeup> done;
  };
  asio::any_io_executor executor;
  HttpClient& next;
  std::set<std::string> read_only;
  std::map<std::string, Entry> entries;
  std::size_t sent = 0;
  std::size_t answered = 0;
};

ReadCache::ReadCache(asio::any_io_executor executor, HttpClient& next,
                     std::set<std::string> read_only)
    : impl_(std::make_shared<Impl>(Impl{executor, next, std::move(read_only), {}, 0, 0})) {}

ReadCache::~ReadCache() = default;

std::size_t ReadCache::sent() const { return impl_->sent; }
std::size_t ReadCache::answered() const { return impl_->answered; }

Awaitable<Result<HttpResponse>> ReadCache::send(HttpRequest request) {
  auto impl = impl_;
  const std::string operation = operation_of(request);
  if (operation.empty() || !impl->read_only.contains(operation)) {
    ++impl->sent;
    co_return co_await impl->next.send(std::move(request));
  }
  std::string key = request.method + ' ' + request.host + request.path + '?' + request.query +
                    '\n' + std::string(request.header("X-Amz-Target").value_or("")) + '\n' +
                    request.body;
  for (;;) {
    auto& entry = impl->entries[key];
    if (entry.response) {
      ++impl->answered;
      co_return *entry.response;
    }
    if (!entry.in_flight) break;
    auto done = entry.done;  // the entry may move while this waits: keep the wake-up
    co_await done->wait();
    // Answered, or the call failed (then this one tries for itself).
    if (impl->entries[key].response) continue;
    break;
  }
  auto& entry = impl->entries[key];
  entry.in_flight = true;
  entry.done = std::make_shared<Wakeup>(impl->executor);  // one per call: its waiters only
  auto done = entry.done;
  ++impl->sent;
  auto response = co_await impl->next.send(std::move(request));
  auto& after = impl->entries[key];  // std::map: references stay valid, but be plain about it
  after.in_flight = false;
  if (response && response.value().status >= 200 && response.value().status < 300) {
    after.response = response.value();
  }
  done->notify();
  co_return response;
}

}  // namespace ecsh::aws
