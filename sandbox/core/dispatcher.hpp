#pragma once

// Turns one HTTP request into one HTTP response: the admin endpoint, SigV4 verification, fault
// injection, routing to the JSON 1.1 / Query / EC2 handlers, AWS's error shapes, and the
// persistence hook after calls that changed state. No sockets: the server feeds it.

#include "ecsh/aws/http_types.hpp"
#include "sandbox/api.hpp"
#include "sandbox/core/auth.hpp"
#include "sandbox/core/identity.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>

namespace ecsh::sandbox {

// Injected API failures (POST /_sandbox/faults).
struct ApiFaults {
  double throttle_rate = 0;  // fraction of matching calls that fail with a throttling error
  double error_rate = 0;     // fraction that fail with a 500 InternalFailure / ServiceUnavailable
  std::vector<std::string> operations;  // empty: every operation
  std::uint32_t seed = 1;
};

class Dispatcher final : public Router {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  Dispatcher(const IdentityStore& identities, const IamEvaluator& iam, Clock clock);

  void add_json(std::string signing_name, std::string target_prefix, std::string operation,
                JsonHandler handler) override;
  void add_query(std::string signing_name, QueryDialect dialect, std::string xml_namespace,
                 std::string action, QueryHandler handler) override;

  // Requests under /_sandbox/ go here instead (no authentication).
  void set_admin_handler(std::function<aws::HttpResponse(const aws::HttpRequest&)> handler) {
    admin_ = std::move(handler);
  }
  // ssmmessages' REST calls from the SSM agent (POST /v1/control-channel/<id>,
  // /v1/data-channel/<id>): SigV4-verified here, then answered by this handler.
  using ChannelHandler =
      std::function<aws::HttpResponse(const aws::HttpRequest&, const RequestContext&)>;
  void set_channel_handler(ChannelHandler handler) { channel_handler_ = std::move(handler); }
  // Called after every successful call whose handler set RequestContext::mutated.
  void set_after_mutation(std::function<void()> hook) { after_mutation_ = std::move(hook); }
  void set_faults(const ApiFaults& faults);

  aws::HttpResponse handle(const aws::HttpRequest& request);

  // Counters for the admin endpoint and benchmarks.
  std::uint64_t calls_served() const { return calls_; }

 private:
  struct QueryRoute {
    QueryDialect dialect;
    std::string xml_namespace;
    QueryHandler handler;
  };
  aws::HttpResponse handle_json(const aws::HttpRequest& request, std::string_view target);
  aws::HttpResponse handle_query(const aws::HttpRequest& request);
  std::optional<ApiError> injected_fault(std::string_view operation, Protocol protocol);
  RequestContext make_context(const aws::HttpRequest& request, const VerifiedRequest& v);

  const IdentityStore& identities_;
  const IamEvaluator& iam_;
  Clock clock_;
  std::map<std::string, JsonHandler> json_routes_;                           // "prefix.Operation"
  std::map<std::tuple<std::string, std::string>, QueryRoute> query_routes_;  // (service, Action)
  std::function<aws::HttpResponse(const aws::HttpRequest&)> admin_;
  std::function<void()> after_mutation_;
  ChannelHandler channel_handler_;
  ApiFaults faults_;
  std::mt19937 fault_rng_{1};
  std::uint64_t calls_ = 0;
};

// Parses an application/x-www-form-urlencoded body ('+' is a space).
std::map<std::string, std::string> parse_form(std::string_view body);

aws::HttpResponse json_response(int status, const boost::json::value& body,
                                const std::string& request_id);

}  // namespace ecsh::sandbox
