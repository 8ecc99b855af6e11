#pragma once

// Private to sandbox/ssm: how the data-channel server hands a data-channel WebSocket (accepted,
// its OpenDataChannel frame read) over to the message gateway. Beast stays out of the public
// headers.

#include "ecsh/common/tcp_or_tls_stream.hpp"
#include "sandbox/ssm/agent_gateway.hpp"

#include <boost/beast/websocket/stream.hpp>

#include <memory>
#include <string>

namespace ecsh::sandbox::ssm {

using GatewayWsStream = boost::beast::websocket::stream<TcpOrTlsStream>;

// An agent's data channel (the token CreateDataChannel gave for this session): true when taken.
bool gateway_take_agent_data_channel(AgentGateway& gateway, std::shared_ptr<GatewayWsStream> ws,
                                     const std::string& session_id, const std::string& token);
// A client's data channel (its token already checked) to a relayed session: true when taken.
bool gateway_take_client_data_channel(AgentGateway& gateway, std::shared_ptr<GatewayWsStream> ws,
                                      const std::string& session_id);

}  // namespace ecsh::sandbox::ssm
