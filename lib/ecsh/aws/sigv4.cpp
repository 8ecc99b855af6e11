#include "ecsh/aws/sigv4.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/log.hpp"
#include "ecsh/common/strings.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <utility>

// Reference: botocore 1.29 botocore/auth.py (SigV4Auth, SigV4QueryAuth) and
// botocore/utils.py (normalize_url_path, percent_encode_sequence). Every deviation from the
// published SigV4 algorithm below is botocore's, kept on purpose so that our signatures are
// byte-identical to the AWS CLI's (tests/conformance/sigv4 checks this against botocore).

namespace ecsh::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// botocore's SIGNED_HEADERS_BLACKLIST.
constexpr std::array<std::string_view, 3> kUnsignedHeaders = {"expect", "user-agent",
                                                              "x-amzn-trace-id"};

bool is_unsigned_header(std::string_view lname) {
  return std::find(kUnsignedHeaders.begin(), kUnsignedHeaders.end(), lname) !=
         kUnsignedHeaders.end();
}

// Length of the UTF-8 encoded whitespace code point at s[i], 0 if there is none. botocore trims
// header values with Python's str.split(), which splits on every Unicode whitespace code point
// (str.isspace), not only on ASCII blanks.
std::size_t whitespace_at(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0x100u;
  };
  const unsigned c = b(0);
  if ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20)) return 1;
  if (c == 0xc2 && (b(1) == 0x85 || b(1) == 0xa0)) return 2;  // U+0085, U+00A0
  if (c == 0xe1 && b(1) == 0x9a && b(2) == 0x80) return 3;    // U+1680
  if (c == 0xe2 && b(1) == 0x80 &&
      ((b(2) >= 0x80 && b(2) <= 0x8a) || b(2) == 0xa8 || b(2) == 0xa9 || b(2) == 0xaf))
    return 3;                                               // U+2000-200A, U+2028, U+2029, U+202F
  if (c == 0xe2 && b(1) == 0x81 && b(2) == 0x9f) return 3;  // U+205F
  if (c == 0xe3 && b(1) == 0x80 && b(2) == 0x80) return 3;  // U+3000
  return 0;
}

// ' '.join(value.split())
std::string trim_all(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (std::size_t i = 0; i < v.size();) {
    if (auto n = whitespace_at(v, i)) {
      pending_space = !out.empty();
      i += n;
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += v[i++];
  }
  return out;
}

std::string to_upper_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// botocore builds the URL as scheme://host + path + "?" + query and takes it apart again with
// urllib.parse.urlsplit, which deletes TAB, CR and LF anywhere and cuts at '#' and the first
// '?'. Wire paths never contain those, but a verifier may be fed anything.
std::pair<std::string, std::string> split_target(const HttpRequest& request) {
  std::string target = request.path;
  if (!request.query.empty()) target += "?" + request.query;
  std::erase_if(target, [](char c) { return c == '\t' || c == '\r' || c == '\n'; });
  if (auto hash = target.find('#'); hash != std::string::npos) target.resize(hash);
  auto q = target.find('?');
  if (q == std::string::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

// botocore.utils.remove_dot_segments: not RFC 3986's algorithm. Empty segments are dropped too
// ("//" -> "/"), ".." above the root is dropped, and a trailing "." or ".." loses its slash:
// "/a/b/.." -> "/a" (RFC 3986: "/a/"), while "/a/b/" keeps it.
std::string remove_dot_segments(std::string_view path) {
  if (path.empty()) return {};
  std::vector<std::string_view> out;
  for (auto seg : str::split(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(seg);
  }
  std::string result = path.front() == '/' ? "/" : "";
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i) result += '/';
    result += out[i];
  }
  if (path.back() == '/' && !out.empty()) result += '/';
  return result;
}

// Python's bytes.decode('utf-8', errors='replace'), re-encoded: every maximal ill-formed
// subsequence becomes one U+FFFD.
std::string replace_invalid_utf8(std::string_view s) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += s[i++];
      continue;
    }
    std::size_t need = 0;
    unsigned lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      out += kReplacement;
      ++i;
      continue;
    }
    std::size_t k = 1;
    for (; k <= need && i + k < s.size(); ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      const bool in_range = k == 1 ? (d >= lo && d <= hi) : (d >= 0x80 && d <= 0xbf);
      if (!in_range) break;
    }
    if (k == need + 1) {
      out.append(s.substr(i, k));
    } else {
      out += kReplacement;
    }
    i += k;
  }
  return out;
}

// urllib.parse.unquote(s.replace('+', ' ')) with UTF-8 and errors='replace', in bytes.
std::string form_unquote(std::string_view s) {
  std::string spaced(s);
  std::replace(spaced.begin(), spaced.end(), '+', ' ');
  return replace_invalid_utf8(str::uri_decode(spaced));
}

// urllib.parse.parse_qs(query, keep_blank_values=True), keeping the first value of each key, in
// first-seen order, as SigV4QueryAuth does with it. A botocore surprise kept on purpose: a
// repeated key loses its later values ("a=1&a=2" is presigned as "a=1"), '+' becomes a space,
// and undecodable UTF-8 becomes U+FFFD.
std::vector<std::pair<std::string, std::string>> parse_query_first_values(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  if (q.empty()) return out;
  for (auto part : str::split(q, '&')) {
    if (part.empty()) continue;
    auto eq = part.find('=');
    std::string key = form_unquote(part.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : form_unquote(part.substr(eq + 1));
    bool seen =
        std::any_of(out.begin(), out.end(), [&](const auto& kv) { return kv.first == key; });
    if (!seen) out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

std::string credential_scope(const SigningScope& scope) {
  return amz_date(scope.time).substr(0, 8) + "/" + scope.region + "/" + scope.service +
         "/aws4_request";
}

// email.utils.formatdate(t): "Sun, 30 Aug 2015 12:36:00 -0000".
std::string rfc2822_date(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<seconds>(t - day)};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d -0000",
                kDays[weekday{day}.c_encoding()], static_cast<unsigned>(ymd.day()),
                kMonths[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string first_header_or(const HttpRequest& request, std::string_view name,
                            std::string_view fallback) {
  auto v = request.header(name);
  return std::string(v ? *v : fallback);
}

void log_signing(const Credentials& creds, std::string_view canonical, std::string_view sts) {
  if (!log::debug_enabled()) return;
  log::add_secret(creds.secret_access_key);
  log::add_secret(creds.session_token);
  log::add_secret(str::uri_encode(creds.session_token));  // as it appears in a presigned query
  log::debug("sigv4 canonical request:\n{}", canonical);
  log::debug("sigv4 string to sign:\n{}", sts);
}

}  // namespace

std::string amz_date(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<seconds>(t - day)};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view text) {
  using namespace std::chrono;
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  auto number = [&](std::size_t pos, std::size_t len) -> int {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const int y = number(0, 4), mo = number(4, 2), d = number(6, 2);
  const int h = number(9, 2), mi = number(11, 2), s = number(13, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) {
    return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
}

std::string canonical_uri(std::string_view path) {
  // quote(normalize_url_path(path), safe='/~'): the path is already percent-encoded on the
  // wire, so for non-S3 services botocore encodes it a second time ("%2F" -> "%252F").
  if (path.empty()) return "/";
  return str::uri_encode(remove_dot_segments(path), /*keep_slash=*/true);
}

std::string canonical_query_string(std::string_view query) {
  // botocore signs the URL's query as it is: no decoding or re-encoding, a key without '=' gets
  // an empty value, and the pairs are sorted as (key, value) tuples, not as "key=value"
  // strings (which would put "a-b=1" before "a=1").
  if (query.empty()) return {};
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  for (auto part : str::split(query, '&')) {
    auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      pairs.emplace_back(part, std::string_view{});
    } else {
      pairs.emplace_back(part.substr(0, eq), part.substr(eq + 1));
    }
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (i) out += '&';
    out += pairs[i].first;
    out += '=';
    out += pairs[i].second;
  }
  return out;
}

std::string host_from_url(const HttpRequest& request) {
  std::string_view host = request.host;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close != std::string_view::npos && close + 1 < host.size() && host[close + 1] == ':') {
      port = host.substr(close + 2);
      host = host.substr(0, close + 1);
    }
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  std::string out = str::to_lower(host);
  if (port.empty()) return out;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
    return out + ":" + std::string(port);  // not a port botocore could parse; keep as given
  }
  const bool is_default =
      (request.scheme == "https" && value == 443) || (request.scheme == "http" && value == 80);
  return is_default ? out : out + ":" + std::to_string(value);
}

std::vector<std::string> headers_to_sign(const HttpRequest& request) {
  std::vector<std::string> names;
  names.emplace_back("host");
  for (const auto& h : request.headers) {
    auto lname = str::to_lower(h.name);
    if (!is_unsigned_header(lname)) names.push_back(std::move(lname));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string payload_hash(const HttpRequest& request) {
  if (auto v = request.header("X-Amz-Content-SHA256")) return std::string(*v);
  if (request.body.empty()) return std::string(kEmptySha256);
  return crypto::sha256_hex(request.body);
}

std::string canonical_request(const HttpRequest& request,
                              const std::vector<std::string>& signed_headers,
                              std::string_view payload_hash) {
  auto [path, query] = split_target(request);
  std::string out = to_upper_ascii(request.method);
  out += '\n';
  out += canonical_uri(path);
  out += '\n';
  out += canonical_query_string(query);
  out += '\n';
  for (const auto& name : signed_headers) {
    std::string value;
    bool found = false;
    for (const auto& h : request.headers) {
      if (!str::iequals(h.name, name)) continue;
      if (found) value += ',';
      value += trim_all(h.value);
      found = true;
    }
    if (!found && name == "host") value = host_from_url(request);
    out += name;
    out += ':';
    out += value;
    out += '\n';
  }
  out += '\n';
  out += str::join(signed_headers, ";");
  out += '\n';
  out += payload_hash;
  return out;
}

std::string string_to_sign(std::string_view canonical_request, const SigningScope& scope) {
  std::string out(kAlgorithm);
  out += '\n';
  out += amz_date(scope.time);
  out += '\n';
  out += credential_scope(scope);
  out += '\n';
  out += crypto::sha256_hex(canonical_request);
  return out;
}

std::string signature(std::string_view secret_access_key, std::string_view string_to_sign,
                      const SigningScope& scope) {
  std::string key = "AWS4";
  key += secret_access_key;
  auto k_date = crypto::hmac_sha256_raw(key, amz_date(scope.time).substr(0, 8));
  auto k_region = crypto::hmac_sha256_raw(k_date, scope.region);
  auto k_service = crypto::hmac_sha256_raw(k_region, scope.service);
  auto k_signing = crypto::hmac_sha256_raw(k_service, "aws4_request");
  return crypto::hex(crypto::hmac_sha256_raw(k_signing, string_to_sign));
}

void sign_request(HttpRequest& request, const Credentials& creds, const SigningScope& scope) {
  request.remove_header("Authorization");  // a retry carries the previous attempt's
  if (request.header("Date")) {
    // The spec allows Date instead of X-Amz-Date; botocore keeps the caller's choice.
    request.set_header("Date", rfc2822_date(scope.time));
    request.remove_header("X-Amz-Date");
  } else {
    request.set_header("X-Amz-Date", amz_date(scope.time));
  }
  if (!creds.session_token.empty()) request.set_header("X-Amz-Security-Token", creds.session_token);
  if (!request.header("Host")) request.headers.push_back({"Host", host_from_url(request)});

  auto names = headers_to_sign(request);
  auto canonical = canonical_request(request, names, payload_hash(request));
  auto sts = string_to_sign(canonical, scope);
  log_signing(creds, canonical, sts);
  std::string auth(kAlgorithm);
  auth += " Credential=" + creds.access_key_id + "/" + credential_scope(scope);
  auth += ", SignedHeaders=" + str::join(names, ";");
  auth += ", Signature=" + signature(creds.secret_access_key, sts, scope);
  request.headers.push_back({"Authorization", std::move(auth)});
}

std::string presign_query(const HttpRequest& original, const Credentials& creds,
                          const SigningScope& scope, std::chrono::seconds expires) {
  HttpRequest request = original;
  // Unlike SigV4Auth, botocore's SigV4QueryAuth neither removes an Authorization header nor adds
  // X-Amz-Date/X-Amz-Security-Token headers: every header the request carries is signed as is.
  // It only drops the Content-Type it adds to query-protocol requests itself.
  if (auto ct = request.header("Content-Type");
      ct && *ct == "application/x-www-form-urlencoded; charset=utf-8") {
    request.remove_header("Content-Type");
  }
  auto names = headers_to_sign(request);

  std::string query;
  for (const auto& [key, value] : parse_query_first_values(split_target(request).second)) {
    query += str::uri_encode(key) + "=" + str::uri_encode(value) + "&";
  }
  query += "X-Amz-Algorithm=";
  query += kAlgorithm;
  query +=
      "&X-Amz-Credential=" + str::uri_encode(creds.access_key_id + "/" + credential_scope(scope));
  query += "&X-Amz-Date=" + amz_date(scope.time);
  query += "&X-Amz-Expires=" + std::to_string(expires.count());
  query += "&X-Amz-SignedHeaders=" + str::uri_encode(str::join(names, ";"));
  if (!creds.session_token.empty()) {
    query += "&X-Amz-Security-Token=" + str::uri_encode(creds.session_token);
  }

  // The path keeps whatever botocore's urlsplit kept of it.
  request.path = split_target(original).first;
  request.query = query;
  auto hash = first_header_or(request, "X-Amz-Content-SHA256", kEmptySha256);
  auto canonical = canonical_request(request, names, hash);
  auto sts = string_to_sign(canonical, scope);
  log_signing(creds, canonical, sts);
  return query + "&X-Amz-Signature=" + signature(creds.secret_access_key, sts, scope);
}

namespace {

Error bad_authorization(std::string_view what) {
  return Error::protocol("malformed Authorization header: " + std::string(what));
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A lowercase HTTP header name (RFC 9110 token without upper case letters).
bool is_lower_token(std::string_view s) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

// Hostile input is quoted in error messages: keep it to one printable line.
std::string printable(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c < ' ' || c > '~') c = '?';
  }
  return out;
}

// A scope part (access key id, region, service): printable ASCII without separators.
bool is_scope_part(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return c > ' ' && c < 0x7f && c != '/' && c != ',' && c != '=' && c != ';';
  });
}

}  // namespace

Result<AuthorizationHeader> parse_authorization(std::string_view value) {
  constexpr std::string_view kPrefix = "AWS4-HMAC-SHA256 ";
  if (value.substr(0, kPrefix.size()) != kPrefix) {
    return bad_authorization("it does not start with \"AWS4-HMAC-SHA256 \"");
  }
  value.remove_prefix(kPrefix.size());

  AuthorizationHeader out;
  bool have_credential = false, have_signed = false, have_signature = false;
  for (auto raw : str::split(value, ',')) {
    // Components are separated by "," with optional spaces (botocore writes ", ").
    auto part = raw;
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    auto eq = part.find('=');
    if (eq == std::string_view::npos) return bad_authorization("a component has no '='");
    auto key = part.substr(0, eq);
    auto val = part.substr(eq + 1);
    if (key == "Credential") {
      if (have_credential) return bad_authorization("Credential appears twice");
      have_credential = true;
      auto fields = str::split(val, '/');
      if (fields.size() != 5) {
        return bad_authorization(
            "Credential is not <key id>/<date>/<region>/<service>/aws4_request");
      }
      if (!is_scope_part(fields[0])) return bad_authorization("the access key id is invalid");
      if (fields[1].size() != 8 || !is_digits(fields[1])) {
        return bad_authorization("the credential date is not yyyymmdd");
      }
      if (!is_scope_part(fields[2])) return bad_authorization("the credential region is invalid");
      if (!is_scope_part(fields[3])) return bad_authorization("the credential service is invalid");
      if (fields[4] != "aws4_request") {
        return bad_authorization("the credential scope does not end in aws4_request");
      }
      out.access_key_id = fields[0];
      out.date = fields[1];
      out.region = fields[2];
      out.service = fields[3];
    } else if (key == "SignedHeaders") {
      if (have_signed) return bad_authorization("SignedHeaders appears twice");
      have_signed = true;
      for (auto name : str::split(val, ';')) {
        if (!is_lower_token(name)) {
          return bad_authorization("SignedHeaders is not a ';'-separated list of lowercase names");
        }
        out.signed_headers.emplace_back(name);
      }
    } else if (key == "Signature") {
      if (have_signature) return bad_authorization("Signature appears twice");
      have_signature = true;
      if (val.size() != 64 || !is_lower_hex(val)) {
        return bad_authorization("Signature is not 64 lowercase hex digits");
      }
      out.signature = val;
    } else {
      return bad_authorization("unknown component \"" + printable(key.substr(0, 32)) + "\"");
    }
  }
  if (!have_credential) return bad_authorization("Credential is missing");
  if (!have_signed) return bad_authorization("SignedHeaders is missing");
  if (!have_signature) return bad_authorization("Signature is missing");
  return out;
}

}  // namespace ecsh::aws
