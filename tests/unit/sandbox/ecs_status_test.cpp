// The statuses the sandbox's state file keeps come back as they were after a restart
// (sandbox/ecs/ecs_status.hpp), in the words ECS uses for them.

#include "sandbox/ecs/ecs_status.hpp"

#include <gtest/gtest.h>

namespace ecsh::sandbox::ecs {
namespace {

TEST(EcsStatus, ServiceStatusesSurviveTheStateFile) {
  for (auto s : {ServiceStatus::active, ServiceStatus::draining, ServiceStatus::inactive}) {
    EXPECT_EQ(parse_service_status(wire_name(s)), s) << wire_name(s);
  }
  EXPECT_EQ(wire_name(ServiceStatus::draining), "DRAINING");
}

TEST(EcsStatus, DeploymentsSurviveTheStateFile) {
  for (auto s : {DeploymentStatus::primary, DeploymentStatus::active}) {
    EXPECT_EQ(parse_deployment_status(wire_name(s)), s) << wire_name(s);
  }
  for (auto s : {RolloutState::in_progress, RolloutState::completed, RolloutState::failed}) {
    EXPECT_EQ(parse_rollout_state(wire_name(s)), s) << wire_name(s);
  }
  EXPECT_EQ(wire_name(RolloutState::in_progress), "IN_PROGRESS");
}

TEST(EcsStatus, AWordThatIsNoStatusReadsAsNone) {
  EXPECT_FALSE(parse_service_status(""));
  EXPECT_FALSE(parse_service_status("active"));  // ECS's words are upper case
  EXPECT_FALSE(parse_deployment_status("RUNNING"));
  EXPECT_FALSE(parse_rollout_state("DONE"));
}

}  // namespace
}  // namespace ecsh::sandbox::ecs
