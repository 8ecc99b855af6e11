#pragma once

// The sandbox's TLS: a CA and a server certificate made with OpenSSL's C API (`--tls`), or given
// files (`--tls-cert`/`--tls-key`), and the server context built from them.

#include "ecsh/common/error.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace ecsh::sandbox {

struct TlsFiles {
  std::filesystem::path ca;  // empty for given files
  std::filesystem::path cert;
  std::filesystem::path key;
};

// <dir>/ca.pem, server.pem and server.key: an EC P-256 CA and a server certificate it signs
// for localhost, 127.0.0.1 and ::1. Kept when still valid for a day (a client that trusts the CA
// keeps working across restarts), made afresh otherwise. The CA's key is never written.
Result<TlsFiles> ensure_tls_files(const std::filesystem::path& dir);

// A server context with the certificate chain and key (TLS 1.2 and later).
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_server_context(const TlsFiles& files);

}  // namespace ecsh::sandbox
