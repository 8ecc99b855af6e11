#pragma once

// What the SSM agent must be allowed to call to serve sessions: the ssmmessages API, where it
// opens its control channel and each session's data channel (docs/protocol.md). For ECS Exec it
// calls them as the task role (or as the user whose AWS keys are in the container's
// environment): doctor checks these four actions, enable grants them, and the sandbox's agent
// fails without them as the real one does.

#include <array>

namespace ecsh::session {

inline constexpr std::array<const char*, 4> kExecChannelActions = {
    "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"};

}  // namespace ecsh::session
