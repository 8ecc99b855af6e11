#include "ecsh/aws/tls_context.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <ctime>
#include <vector>

namespace ecsh::aws {
namespace {

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  const unsigned char* data = ASN1_STRING_get0_data(ip);
  int len = ASN1_STRING_length(ip);
  if (len == 4 && inet_ntop(AF_INET, data, buf, sizeof buf)) return buf;
  if (len == 16 && inet_ntop(AF_INET6, data, buf, sizeof buf)) return buf;
  return "?";
}

// The DNS names and IP addresses a certificate covers (its common name when it has no SAN).
std::vector<std::string> names_of(X509* cert) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
      if (n->type == GEN_DNS) {
        const auto* d = n->d.dNSName;
        names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(d)),
                           static_cast<std::size_t>(ASN1_STRING_length(d)));
      } else if (n->type == GEN_IPADD) {
        names.push_back(ip_text(n->d.iPAddress));
      }
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {
    char cn[256] = {};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0)
      names.emplace_back(cn);
  }
  return names;
}

std::string name_text(X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return "?";
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len > 0 ? len : 0));
  BIO_free(bio);
  return out.empty() ? "(empty name)" : out;
}

std::string time_text(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "no names" : out;
}

}  // namespace

Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_client_context(
    const HttpOptions& options) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  if (!options.verify_tls) {
    ctx->set_verify_mode(ssl::verify_none, ec);
    return ctx;
  }
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (options.ca_bundle.empty()) {
    ctx->set_default_verify_paths(ec);
    return ctx;
  }
  ctx->load_verify_file(options.ca_bundle, ec);
  if (ec) {
    return Error::config("cannot read the CA bundle " + options.ca_bundle + ": " + ec.message(),
                         "Check AWS_CA_BUNDLE / ca_bundle / --ca-bundle.");
  }
  return ctx;
}

Result<void> prepare_tls_client(SSL* ssl, const std::string& host, bool verify) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  const bool is_ip = !ec;
  if (!is_ip && !SSL_set_tlsext_host_name(ssl, host.c_str())) {
    return Error::connection("cannot set the TLS server name " + host);
  }
  if (!verify) return ok();
  if (is_ip) {
    if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()))
      return Error::connection("cannot check the certificate against " + host);
    return ok();
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (!SSL_set1_host(ssl, host.c_str()))
    return Error::connection("cannot check the certificate against " + host);
  return ok();
}

Error tls_handshake_error(SSL* ssl, const std::string& host, const std::string& url,
                          const boost::system::error_code& ec) {
  const std::string failed = "SSL validation failed for " + url + ": ";
  if (ec == boost::asio::ssl::error::stream_truncated || ec == boost::asio::error::eof ||
      ec == boost::asio::error::connection_reset) {
    return Error::connection(
        "the server closed the connection during the TLS handshake with " + host + " (" + url + ")",
        "Check that the endpoint speaks HTTPS (http:// if it is plain HTTP), and that no proxy "
        "or firewall cuts TLS.",
        false);
  }
  if (ec.category() == boost::asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_WRONG_VERSION_NUMBER) {
    return Error::connection(url + " does not speak TLS: the server answered in plain text",
                             "Use http:// in the endpoint URL if the endpoint is plain HTTP.",
                             false);
  }
  long result = SSL_get_verify_result(ssl);
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  X509* leaf = chain && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : nullptr;
  if (result != X509_V_OK && leaf) {
    switch (result) {
      case X509_V_ERR_HOSTNAME_MISMATCH:
      case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return Error::connection(failed + "the certificate does not cover " + host +
                                     "; it covers " + join(names_of(leaf)),
                                 "Use a name it covers in the endpoint URL, or give the server "
                                 "a certificate that covers " +
                                     host + ".",
                                 false);
      case X509_V_ERR_CERT_HAS_EXPIRED:
        return Error::connection(failed + "the certificate of " + host + " expired on " +
                                     time_text(X509_get0_notAfter(leaf)),
                                 "Renew the server's certificate (or check this machine's clock).",
                                 false);
      case X509_V_ERR_CERT_NOT_YET_VALID:
        return Error::connection(failed + "the certificate of " + host + " is not valid before " +
                                     time_text(X509_get0_notBefore(leaf)),
                                 "Check this machine's clock, or the server's certificate.", false);
      case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return Error::connection(
            failed + "the certificate of " + host + " is signed by a CA this machine does not " +
                "trust (issuer: " + name_text(X509_get_issuer_name(leaf)) + ")",
            "Set AWS_CA_BUNDLE (or ca_bundle in the profile, or --ca-bundle) to a PEM file "
            "with that CA.",
            false);
      default:
        return Error::connection(failed + X509_verify_cert_error_string(result),
                                 "Set AWS_CA_BUNDLE (or ca_bundle) to the CA that signed the "
                                 "endpoint's certificate.",
                                 false);
    }
  }
  return Error::connection(failed + ec.message(),
                           "Set AWS_CA_BUNDLE (or ca_bundle) to the CA that signed the endpoint's "
                           "certificate.",
                           false);
}

}  // namespace ecsh::aws
