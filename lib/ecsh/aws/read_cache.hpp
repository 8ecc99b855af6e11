#pragma once

// One answer per question while a command reads a whole estate: an HttpClient in front of another
// that answers a repeated read-only call from the first answer (`ecsh doctor --all` judges
// hundreds of services that share a caller, roles, task definitions and subnets). Only
// operations named in `read_only` are kept, and only their 2xx answers; calls made while the
// same one is in flight wait for it rather than going out twice. Keys are the request's host,
// path, query, X-Amz-Target and body: what names the question, not the signature or the date.
// For one command's lifetime only: nothing expires.

#include "ecsh/aws/http_client.hpp"

#include <cstddef>
#include <memory>
#include <set>
#include <string>

namespace ecsh::aws {

// The operation a request calls: X-Amz-Target's part after the last '.', else the Query
// protocol's Action= in the body or the query string; "" when neither says.
std::string operation_of(const HttpRequest& request);

class ReadCache final : public HttpClient {
 public:
  ReadCache(asio::any_io_executor executor, HttpClient& next, std::set<std::string> read_only);
  ~ReadCache() override;

  Awaitable<Result<HttpResponse>> send(HttpRequest request) override;

  std::size_t sent() const;      // requests that went out
  std::size_t answered() const;  // requests answered from the cache (or a call in flight)

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ecsh::aws
