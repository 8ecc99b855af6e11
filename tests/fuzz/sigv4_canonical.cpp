// SigV4 canonicalisation of hostile requests (what the sandbox's verifier is fed) and the ARN
// helper. Input, split at '\n': method, host, path, query, then "Name: value" header lines up
// to an empty line (at most 16 headers), then the payload.
// Invariants: nothing crashes; the canonical request has exactly SigV4's structure (method,
// URI, query, one "name:value" line per signed header, an empty line, the signed header list,
// the payload hash: 5 + N newlines); computing and signing it twice gives the same bytes; a
// verifier that parses the Authorization header and rebuilds the canonical request gets the
// same signature whenever the signed header names are valid lowercase tokens, and never when it
// read other names than were signed; presigning gives a 64-hex signature; arn_name gives the
// suffix after the last '/'.
#include "ecsh/aws/sigv4.hpp"
#include "ecsh/ecs/ecs_view.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace ecsh::aws;

// RFC 9110 token characters without upper case: what parse_authorization accepts in
// SignedHeaders.
bool is_lower_token(std::string_view s) {
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

bool is_lower_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::vector<std::string_view> lines_of(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    auto nl = s.find('\n', start);
    if (nl == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
}

void check_arn_name(std::string_view arn) {
  const std::string name = ecsh::ecs::arn_name(arn);
  if (name.find('/') != std::string::npos) std::abort();
  if (name.size() > arn.size() || arn.substr(arn.size() - name.size()) != name) std::abort();
  if (arn.find('/') == std::string_view::npos && name != arn) std::abort();
  if (arn.find('/') != std::string_view::npos && arn[arn.size() - name.size() - 1] != '/') {
    std::abort();
  }
}

void check_canonical(const HttpRequest& r) {
  const auto names = headers_to_sign(r);
  const auto hash = payload_hash(r);
  const std::string cr = canonical_request(r, names, hash);
  if (canonical_request(r, names, hash) != cr) std::abort();

  const auto lines = lines_of(cr);
  if (lines.size() != 6 + names.size()) std::abort();  // 5 + N newlines
  std::string method = r.method;
  for (auto& c : method) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  if (lines[0] != method) std::abort();
  if (lines[1].empty() || lines[1].front() != '/') std::abort();
  for (char c : lines[1]) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == '%';
    if (!ok) std::abort();
  }
  if (lines[2].find_first_of("#\r\t") != std::string_view::npos) std::abort();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto line = lines[3 + i];
    if (line.substr(0, names[i].size() + 1) != names[i] + ":") std::abort();
    const bool from_url = names[i] == "host" && !r.header("host");
    const auto value = line.substr(names[i].size() + 1);
    if (!from_url && !value.empty() && (value.front() == ' ' || value.back() == ' ')) std::abort();
  }
  if (!lines[3 + names.size()].empty()) std::abort();
  std::string joined;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) joined += ';';
    joined += names[i];
  }
  if (lines[4 + names.size()] != joined) std::abort();
  if (lines[5 + names.size()] != hash) std::abort();
  if (!r.header("X-Amz-Content-SHA256") && !is_lower_hex64(hash)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_arn_name(input);

  HttpRequest r;
  std::size_t pos = 0;
  auto next_line = [&]() -> std::string_view {
    if (pos >= input.size()) return {};
    auto nl = input.find('\n', pos);
    if (nl == std::string_view::npos) nl = input.size();
    auto line = input.substr(pos, nl - pos);
    pos = nl + 1;
    return line;
  };
  r.method = std::string(next_line());
  r.host = std::string(next_line());
  auto path = next_line();
  r.path = path.empty() || path.front() == '/' ? std::string(path) : "/" + std::string(path);
  r.query = std::string(next_line());
  for (;;) {
    if (pos >= input.size()) break;
    auto line = next_line();
    if (line.empty()) break;
    if (r.headers.size() >= 16) continue;
    auto colon = line.find(':');
    Header h;
    h.name = std::string(line.substr(0, colon));
    h.value = colon == std::string_view::npos ? std::string() : std::string(line.substr(colon + 1));
    r.headers.push_back(std::move(h));
  }
  if (pos < input.size()) r.body = std::string(input.substr(pos));
  check_arn_name(r.host);
  check_arn_name(r.path);

  check_canonical(r);

  Credentials creds;
  creds.access_key_id = "AKIDEXAMPLE";
  creds.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  creds.session_token = "FwoGZXIvYXdzEXAMPLETOKEN/+=";
  SigningScope scope;
  scope.region = "eu-west-1";
  scope.service = "ecs";
  scope.time = std::chrono::sys_days{std::chrono::year{2015} / 8 / 30} + std::chrono::hours{12} +
               std::chrono::minutes{36};

  HttpRequest a = r, b = r;
  sign_request(a, creds, scope);
  sign_request(b, creds, scope);
  if (a.headers.size() != b.headers.size()) std::abort();
  for (std::size_t i = 0; i < a.headers.size(); ++i) {
    if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) {
      std::abort();
    }
  }
  const auto auth_value = a.header("Authorization");
  if (!auth_value) std::abort();

  // The verifier's side: parse the header, rebuild, compare.
  HttpRequest incoming = a;
  incoming.remove_header("Authorization");
  check_canonical(incoming);
  const auto names = headers_to_sign(incoming);
  // Names that are not tokens ("x y", "", "a,b", a trailing blank that the parser's
  // ", " tolerance eats) need not survive the Authorization header, but then the verifier
  // rebuilds another canonical request and must reject the signature (fail closed). Valid
  // names must round-trip and verify.
  const bool tokens = std::all_of(names.begin(), names.end(), is_lower_token);
  const auto auth = parse_authorization(*auth_value);
  if (tokens && (!auth || auth.value().signed_headers != names)) std::abort();
  if (auth) {
    const auto sts = string_to_sign(
        canonical_request(incoming, auth.value().signed_headers, payload_hash(incoming)), scope);
    const bool verifies = signature(creds.secret_access_key, sts, scope) == auth.value().signature;
    if (verifies != (auth.value().signed_headers == names)) std::abort();
  }

  const auto q = presign_query(r, creds, scope, std::chrono::seconds{60});
  const auto sig = q.rfind("&X-Amz-Signature=");
  if (sig == std::string::npos || !is_lower_hex64(std::string_view(q).substr(sig + 17))) {
    std::abort();
  }
  return 0;
}
