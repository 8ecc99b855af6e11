#include "sandbox/core/tls.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>

namespace ecsh::sandbox {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

constexpr long kValidDays = 90;
constexpr long kRenewWithinSeconds = 24 * 3600;

std::string openssl_error(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = {};
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  return what + (e ? std::string(": ") + buf : std::string());
}

Result<Key> new_key() {
  Key k(EVP_EC_gen("P-256"));
  if (!k) return Error::internal(openssl_error("cannot make an EC key"));
  return k;
}

Result<void> add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Free> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, const_cast<char*>(value)));
  if (!ext || !X509_add_ext(cert, ext.get(), -1)) {
    return Error::internal(openssl_error(std::string("cannot add the extension ") + value));
  }
  return ok();
}

// A certificate for `key` named `cn`, signed by `issuer_key` (self-signed when issuer is null).
Result<Cert> make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                       bool ca) {
  Cert cert(X509_new());
  if (!cert) return Error::internal(openssl_error("X509_new"));
  X509_set_version(cert.get(), 2);
  std::unique_ptr<BIGNUM, Free> serial(BN_new());
  if (!serial || !BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    return Error::internal(openssl_error("cannot make a serial number"));
  }
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValidDays * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("ecsh-sandbox"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  if (!X509_set_pubkey(cert.get(), key)) return Error::internal(openssl_error("X509_set_pubkey"));
  X509* signer = issuer ? issuer : cert.get();
  ECSH_TRY(add_ext(cert.get(), signer, NID_subject_key_identifier, "hash"));
  if (ca) {
    ECSH_TRY(add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    ECSH_TRY(add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    ECSH_TRY(add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always"));
    ECSH_TRY(add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE"));
    ECSH_TRY(add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature"));
    ECSH_TRY(add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth"));
    ECSH_TRY(
        add_ext(cert.get(), signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"));
  }
  if (!X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256())) {
    return Error::internal(openssl_error("cannot sign the certificate"));
  }
  return cert;
}

// Writes `text` to `path` atomically with mode `mode`.
Result<void> write_file(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Error::config("cannot write " + tmp.string());
    out << text;
    if (!out) return Error::config("cannot write " + tmp.string());
  }
  ::chmod(tmp.c_str(), mode);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Error::config("cannot write " + path.string() + ": " + ec.message());
  return ok();
}

std::string pem_of(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string pem_of(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// The files are there, the key matches the certificate, and it is valid for a while yet.
bool still_usable(const TlsFiles& f) {
  Bio cert_bio(BIO_new_file(f.cert.c_str(), "r"));
  Bio key_bio(BIO_new_file(f.key.c_str(), "r"));
  Bio ca_bio(BIO_new_file(f.ca.c_str(), "r"));
  if (!cert_bio || !key_bio || !ca_bio) {
    ERR_clear_error();
    return false;
  }
  Cert cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  Key key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  Cert ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!cert || !key || !ca || X509_check_private_key(cert.get(), key.get()) != 1) return false;
  std::time_t soon = std::time(nullptr) + kRenewWithinSeconds;
  return X509_cmp_time(X509_get0_notAfter(cert.get()), &soon) > 0 &&
         X509_cmp_time(X509_get0_notAfter(ca.get()), &soon) > 0;
}

}  // namespace

Result<TlsFiles> ensure_tls_files(const std::filesystem::path& dir) {
  TlsFiles f;
  f.ca = dir / "ca.pem";
  f.cert = dir / "server.pem";
  f.key = dir / "server.key";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error::config("cannot create " + dir.string() + ": " + ec.message());
  if (still_usable(f)) return f;

  ECSH_TRY(auto ca_key, new_key());
  ECSH_TRY(auto ca, make_cert(ca_key.get(), "ecsh-sandbox CA", nullptr, nullptr, true));
  ECSH_TRY(auto key, new_key());
  ECSH_TRY(auto cert, make_cert(key.get(), "localhost", ca.get(), ca_key.get(), false));
  ECSH_TRY(write_file(f.key, pem_of(key.get()), 0600));
  // The chain: the server certificate, then the CA (clients that trust the CA need only it).
  ECSH_TRY(write_file(f.cert, pem_of(cert.get()) + pem_of(ca.get()), 0644));
  ECSH_TRY(write_file(f.ca, pem_of(ca.get()), 0644));
  return f;
}

Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_server_context(const TlsFiles& files) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  ctx->use_certificate_chain_file(files.cert.string(), ec);
  if (ec) {
    return Error::config("cannot use the TLS certificate " + files.cert.string() + ": " +
                         ec.message());
  }
  ctx->use_private_key_file(files.key.string(), ssl::context::pem, ec);
  if (ec) {
    return Error::config("cannot use the TLS key " + files.key.string() + ": " + ec.message(),
                         "Give the key that matches --tls-cert, in PEM.");
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return Error::config("the TLS key " + files.key.string() + " does not match " +
                         files.cert.string());
  }
  return ctx;
}

}  // namespace ecsh::sandbox
