#include "ecsh/session/ending.hpp"

#include <gtest/gtest.h>

using namespace ecsh::session;

TEST(SessionEnding, TheServicesSentencesAreRecognised) {
  EXPECT_EQ(closed_by(kIdleTimeoutOutput), ClosedBy::idle_timeout);
  EXPECT_EQ(closed_by(kMaxSessionDurationOutput), ClosedBy::max_duration);
}

// AWS does not publish its words: other phrasings with the same key words count too.
TEST(SessionEnding, OtherWordingsOfTheSameCauses) {
  EXPECT_EQ(closed_by("Session terminated: idle session timeout reached."), ClosedBy::idle_timeout);
  EXPECT_EQ(closed_by("Session idle timed out"), ClosedBy::idle_timeout);
  EXPECT_EQ(closed_by("The session was terminated because it reached the Max Session Duration"),
            ClosedBy::max_duration);
}

TEST(SessionEnding, AgentErrorsAndSilenceAreThePeers) {
  EXPECT_EQ(closed_by(""), ClosedBy::peer);
  EXPECT_EQ(closed_by("Plugin with name InteractiveCommands not found. Step name: "
                      "InteractiveCommands"),
            ClosedBy::peer);
  // "idle" alone (a container's process name, say) is not the timeout.
  EXPECT_EQ(closed_by("Unable to start command: exec: \"idle-worker\": not found"), ClosedBy::peer);
}
