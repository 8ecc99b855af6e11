#include "ecsh/aws/tls_context.hpp"

namespace ecsh::aws {

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
                         "Check AWS_CA_BUNDLE / ca_bundle.");
  }
  return ctx;
}

}  // namespace ecsh::aws
