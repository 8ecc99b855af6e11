#pragma once

// The TLS client context shared by the HTTP and WebSocket clients: peer verification on unless
// asked otherwise, against the system store or a PEM bundle. Internal to lib/ecsh/aws (.cpp files
// only: it pulls in Asio's SSL headers).

#include "ecsh/aws/http_client.hpp"
#include "ecsh/common/error.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace ecsh::aws {

Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_client_context(
    const HttpOptions& options);

// Before the handshake: SNI for a DNS name (never for an IP address, RFC 6066 §3, as botocore and
// Go do), and, when verifying, the name or address the certificate must cover (OpenSSL checks it
// while verifying, so a mismatch gets its own verification error).
Result<void> prepare_tls_client(SSL* ssl, const std::string& host, bool verify);

// A failed handshake with `host` (for `url`), said as what is wrong and how to fix it: an unknown
// CA, a certificate that does not cover the host (and the names it covers), an expired one, a
// peer that does not speak TLS.
Error tls_handshake_error(SSL* ssl, const std::string& host, const std::string& url,
                          const boost::system::error_code& ec);

}  // namespace ecsh::aws
