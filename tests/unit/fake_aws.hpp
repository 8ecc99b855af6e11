#pragma once

// A scripted AWS for unit tests: each operation answers with a canned status and body (JSON
// operations are named by their X-Amz-Target, Query ones by their Action); any other operation
// is denied. An AwsClient on top of it signs with fixed keys and never retries.

#include "ecsh/aws/client.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ecsh::fake {

class ScriptedAws final : public aws::HttpClient {
 public:
  std::map<std::string, std::pair<int, std::string>> replies;  // operation -> (status, body)
  std::vector<std::string> calls;                              // operations, in order

  void answer(const std::string& operation, std::string body, int status = 200) {
    replies[operation] = {status, std::move(body)};
  }

  Awaitable<Result<aws::HttpResponse>> send(aws::HttpRequest request) override {
    std::string op(request.header("X-Amz-Target").value_or(""));
    const bool json = !op.empty();
    if (json) {
      op = op.substr(op.find('.') + 1);
    } else if (auto at = request.body.find("Action="); at != std::string::npos) {
      op = request.body.substr(at + 7, request.body.find('&', at) - at - 7);
    }
    calls.push_back(op);
    aws::HttpResponse r;
    if (auto it = replies.find(op); it != replies.end()) {
      r.status = it->second.first;
      r.body = it->second.second;
    } else {
      r.status = 403;
      r.body = json ? R"({"__type":"AccessDeniedException","message":"not scripted"})"
                    : "<ErrorResponse><Error><Code>AccessDenied</Code><Message>not scripted"
                      "</Message></Error></ErrorResponse>";
    }
    co_return r;
  }
};

class StaticCredentials final : public aws::CredentialsProvider {
 public:
  Awaitable<Result<aws::Credentials>> credentials() override {
    aws::Credentials c;
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = "secret";
    co_return c;
  }
};

struct FakeAwsClient {
  ScriptedAws aws;
  FixedClock clock{std::chrono::system_clock::from_time_t(1764000000)};
  std::unique_ptr<aws::AwsClient> client;
  FakeAwsClient() {
    aws::AwsSettings s;
    s.region = "us-east-1";
    s.endpoint_url_flag = "http://127.0.0.1:9";
    s.max_attempts = 1;
    client = std::make_unique<aws::AwsClient>(s, std::make_shared<StaticCredentials>(), aws, clock);
  }
};

// Runs a coroutine to completion; an exception escaping it fails the test (rethrown).
template <class T>
T run(Awaitable<T> task) {
  asio::io_context io;
  std::optional<T> out;
  asio::co_spawn(
      io, [&]() -> Awaitable<void> { out.emplace(co_await std::move(task)); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  return std::move(*out);
}

}  // namespace ecsh::fake
