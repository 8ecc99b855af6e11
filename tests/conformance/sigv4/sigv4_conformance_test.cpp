// Differential test: ecsh's SigV4 signer against botocore's (gen_botocore_vectors.py writes the
// vectors; ctest runs it first as a fixture and passes the file in ECSH_SIGV4_VECTORS).

#include "ecsh/aws/sigv4.hpp"
#include "ecsh/common/crypto.hpp"
#include "ecsh/common/strings.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace json = boost::json;
using namespace ecsh::aws;

namespace {

struct Vector {
  std::size_t line = 0;
  std::string kind;
  HttpRequest request;
  Credentials creds;
  SigningScope scope;
  json::object raw;
};

std::string get_string(const json::object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}

std::vector<Header> get_headers(const json::value& v) {
  std::vector<Header> out;
  for (const auto& h : v.as_array()) {
    const auto& pair = h.as_array();
    Header header;
    header.name = std::string(pair.at(0).as_string());
    header.value = std::string(pair.at(1).as_string());
    out.push_back(std::move(header));
  }
  return out;
}

std::vector<Vector> load_vectors(std::string& error) {
  const char* path = std::getenv("ECSH_SIGV4_VECTORS");
  if (!path || !*path) {
    error =
        "ECSH_SIGV4_VECTORS is not set: run this test through ctest (its fixture generates the "
        "vectors with botocore), or run gen_botocore_vectors.py --out FILE and set it to FILE";
    return {};
  }
  std::ifstream in(path);
  if (!in) {
    error = std::string("cannot read ") + path + " (did the botocore generator fixture fail?)";
    return {};
  }
  std::vector<Vector> out;
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    Vector v;
    v.line = n;
    v.raw = json::parse(line).as_object();
    const auto& o = v.raw;
    v.kind = get_string(o, "kind");
    v.request.method = get_string(o, "method");
    v.request.scheme = get_string(o, "scheme");
    v.request.host = get_string(o, "host");
    v.request.path = get_string(o, "path");
    v.request.query = get_string(o, "query");
    v.request.headers = get_headers(o.at("headers"));
    auto body = ecsh::crypto::base64_decode(get_string(o, "body_b64"));
    if (!body) {
      error = "line " + std::to_string(n) + ": bad base64 body";
      return {};
    }
    v.request.body = *body;
    v.creds.access_key_id = get_string(o, "access_key_id");
    v.creds.secret_access_key = get_string(o, "secret_access_key");
    v.creds.session_token = get_string(o, "session_token");
    v.scope.region = get_string(o, "region");
    v.scope.service = get_string(o, "service");
    v.scope.time = std::chrono::system_clock::time_point(
        std::chrono::microseconds(o.at("time_us").to_number<std::int64_t>()));
    out.push_back(std::move(v));
  }
  return out;
}

const std::vector<Vector>& vectors() {
  static std::string error;
  static const std::vector<Vector> v = load_vectors(error);
  if (!error.empty()) ADD_FAILURE() << error;
  return v;
}

// The request as we send it, minus the Host header we add (botocore leaves that to its HTTP
// client), as lowercase-name/value pairs in a canonical order.
std::vector<std::pair<std::string, std::string>> normalised(const std::vector<Header>& headers,
                                                            bool drop_host) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& h : headers) {
    auto name = ecsh::str::to_lower(h.name);
    if (drop_host && name == "host") continue;
    out.emplace_back(name, h.value);
  }
  std::stable_sort(out.begin(), out.end());
  return out;
}

std::string describe(const Vector& v) {
  std::ostringstream s;
  s << "vector line " << v.line << ": " << v.request.method << " " << v.request.url() << " (region "
    << v.scope.region << ", service " << v.scope.service << ")\n"
    << json::serialize(v.raw);
  return s.str();
}

TEST(Sigv4Botocore, EnoughVectors) {
  std::size_t sign = 0, presign = 0;
  for (const auto& v : vectors()) (v.kind == "sign" ? sign : presign)++;
  EXPECT_GE(sign, 1000u);
  EXPECT_GE(presign, 100u);
}

TEST(Sigv4Botocore, SignRequestMatchesBotocore) {
  std::size_t checked = 0, failures = 0;
  for (const auto& v : vectors()) {
    if (v.kind != "sign") continue;
    ++checked;
    HttpRequest signed_request = v.request;
    sign_request(signed_request, v.creds, v.scope);
    const auto expected = get_string(v.raw, "expected_authorization");
    const auto ours = std::string(signed_request.header("Authorization").value_or(""));

    bool headers_match = true;
    if (ours == expected) {
      const bool we_added_host = !v.request.header("Host");
      headers_match = normalised(signed_request.headers, we_added_host) ==
                      normalised(get_headers(v.raw.at("expected_headers")), false);
    }
    if (ours == expected && headers_match) continue;
    if (++failures > 1) continue;  // report the first difference in full, count the rest

    // Recompute our canonical request the way a verifier would, for the report.
    HttpRequest unsigned_copy = signed_request;
    unsigned_copy.remove_header("Authorization");
    auto names = headers_to_sign(unsigned_copy);
    auto canonical = canonical_request(unsigned_copy, names, payload_hash(unsigned_copy));
    ADD_FAILURE() << describe(v) << "\n--- botocore Authorization:\n"
                  << expected << "\n--- ecsh Authorization:\n"
                  << ours << "\n--- botocore canonical request:\n"
                  << get_string(v.raw, "expected_canonical_request")
                  << "\n--- ecsh canonical request:\n"
                  << canonical << "\n--- headers match: " << headers_match;
  }
  EXPECT_EQ(failures, 0u) << "of " << checked << " signed requests";
  EXPECT_GT(checked, 0u);
}

TEST(Sigv4Botocore, VerifierAcceptsBotocoreSignatures) {
  // What the sandbox does with an incoming request: parse the Authorization header, rebuild the
  // canonical request from the headers it names, and compare signatures.
  std::size_t failures = 0;
  for (const auto& v : vectors()) {
    if (v.kind != "sign") continue;
    HttpRequest incoming = v.request;
    incoming.headers = get_headers(v.raw.at("expected_headers"));
    if (!incoming.header("Host")) incoming.headers.push_back({"Host", host_from_url(incoming)});
    auto auth = parse_authorization(*incoming.header("Authorization"));
    if (!auth) {
      if (++failures == 1) ADD_FAILURE() << describe(v) << "\n" << auth.error().describe();
      continue;
    }
    incoming.remove_header("Authorization");
    auto canonical =
        canonical_request(incoming, auth.value().signed_headers, payload_hash(incoming));
    auto sts = string_to_sign(canonical, v.scope);
    bool ok = auth.value().access_key_id == v.creds.access_key_id &&
              auth.value().region == v.scope.region && auth.value().service == v.scope.service &&
              auth.value().date == amz_date(v.scope.time).substr(0, 8) &&
              signature(v.creds.secret_access_key, sts, v.scope) == auth.value().signature;
    if (!ok && ++failures == 1) {
      ADD_FAILURE() << describe(v) << "\n--- botocore canonical request:\n"
                    << get_string(v.raw, "expected_canonical_request")
                    << "\n--- verifier canonical request:\n"
                    << canonical;
    }
  }
  EXPECT_EQ(failures, 0u);
}

TEST(Sigv4Botocore, PresignQueryMatchesBotocore) {
  std::size_t checked = 0, failures = 0;
  for (const auto& v : vectors()) {
    if (v.kind != "presign") continue;
    ++checked;
    auto expires = std::chrono::seconds(v.raw.at("expires").to_number<std::int64_t>());
    auto ours = presign_query(v.request, v.creds, v.scope, expires);
    auto expected = get_string(v.raw, "expected_query");
    if (ours == expected) continue;
    if (++failures > 1) continue;
    ADD_FAILURE() << describe(v) << "\n--- botocore query:\n"
                  << expected << "\n--- ecsh query:\n"
                  << ours << "\n--- botocore canonical request:\n"
                  << get_string(v.raw, "expected_canonical_request");
  }
  EXPECT_EQ(failures, 0u) << "of " << checked << " presigned requests";
  EXPECT_GT(checked, 0u);
}

}  // namespace
