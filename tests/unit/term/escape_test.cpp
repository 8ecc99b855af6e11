#include "ecsh/term/escape.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ecsh::term {
namespace {

using Actions = std::vector<EscapeAction>;

// Feeds `chunks` one after another; returns everything sent and every action.
EscapeOutput feed_all(EscapeFilter& f, const std::vector<std::string>& chunks) {
  EscapeOutput all;
  for (const auto& c : chunks) {
    EscapeOutput o = f.feed(c);
    all.send += o.send;
    all.actions.insert(all.actions.end(), o.actions.begin(), o.actions.end());
  }
  return all;
}

TEST(EscapeFilter, PlainBytesPassThroughUnchanged) {
  EscapeFilter f;
  const std::string in("ls -l\r\x03\x1a\x1c\x00\xff", 11);
  EscapeOutput o = f.feed(in);
  EXPECT_EQ(o.send, in);
  EXPECT_TRUE(o.actions.empty());
}

TEST(EscapeFilter, TildeDotAtSessionStartDisconnects) {
  EscapeFilter f;
  EscapeOutput o = f.feed("~.");
  EXPECT_EQ(o.send, "");
  EXPECT_EQ(o.actions, Actions{EscapeAction::disconnect});
  EXPECT_TRUE(f.disconnected());
}

TEST(EscapeFilter, TildeDotAfterCrDisconnectsAndDropsTheRest) {
  EscapeFilter f;
  EscapeOutput o = f.feed("echo hi\r~.rm -rf /\r");
  EXPECT_EQ(o.send, "echo hi\r");
  EXPECT_EQ(o.actions, Actions{EscapeAction::disconnect});
  EXPECT_EQ(f.feed("more").send, "");
}

TEST(EscapeFilter, TildeDotAfterLfDisconnects) {
  EscapeFilter f;
  EscapeOutput o = f.feed("x\n~.");
  EXPECT_EQ(o.send, "x\n");
  EXPECT_EQ(o.actions, Actions{EscapeAction::disconnect});
}

TEST(EscapeFilter, TildeInsideALineIsSentAsIs) {
  EscapeFilter f;
  EscapeOutput o = f.feed("cd ~.\rls ~/x\r");
  EXPECT_EQ(o.send, "cd ~.\rls ~/x\r");
  EXPECT_TRUE(o.actions.empty());
}

TEST(EscapeFilter, EscapeSplitAcrossChunks) {
  EscapeFilter f;
  EscapeOutput a = f.feed("pwd\r~");
  EXPECT_EQ(a.send, "pwd\r");
  EXPECT_TRUE(f.pending());
  EscapeOutput b = f.feed(".");
  EXPECT_EQ(b.send, "");
  EXPECT_EQ(b.actions, Actions{EscapeAction::disconnect});
}

TEST(EscapeFilter, NewlineAndTildeAndDotInThreeChunks) {
  EscapeFilter f;
  f.feed("abc");
  EscapeOutput o = feed_all(f, {"\r", "~", "."});
  EXPECT_EQ(o.send, "\r");
  EXPECT_EQ(o.actions, Actions{EscapeAction::disconnect});
}

TEST(EscapeFilter, HelpIsLocalAndAnotherEscapeMayFollow) {
  EscapeFilter f;
  EscapeOutput o = feed_all(f, {"\r~?", "~."});
  EXPECT_EQ(o.send, "\r");
  EXPECT_EQ(o.actions, (Actions{EscapeAction::help, EscapeAction::disconnect}));
}

TEST(EscapeFilter, HelpThenTextIsSentWithoutTheEscape) {
  EscapeFilter f;
  EscapeOutput o = f.feed("~?ls\r");
  EXPECT_EQ(o.send, "ls\r");
  EXPECT_EQ(o.actions, Actions{EscapeAction::help});
}

TEST(EscapeFilter, DoubleTildeSendsOneAndEndsTheLineStart) {
  EscapeFilter f;
  EscapeOutput o = f.feed("~~.");
  EXPECT_EQ(o.send, "~.");
  EXPECT_TRUE(o.actions.empty());
  EXPECT_FALSE(f.disconnected());
}

TEST(EscapeFilter, DoubleTildeSplitAcrossChunks) {
  EscapeFilter f;
  EscapeOutput o = feed_all(f, {"~", "~", "~."});
  EXPECT_EQ(o.send, "~~.");
  EXPECT_TRUE(o.actions.empty());
}

TEST(EscapeFilter, TildeThenOtherByteSendsBoth) {
  EscapeFilter f;
  EscapeOutput o = feed_all(f, {"~", "x", "y"});
  EXPECT_EQ(o.send, "~xy");
  EXPECT_TRUE(o.actions.empty());
}

TEST(EscapeFilter, TildeThenNewlineKeepsTheLineStart) {
  EscapeFilter f;
  EscapeOutput o = f.feed("~\r~.");
  EXPECT_EQ(o.send, "~\r");
  EXPECT_EQ(o.actions, Actions{EscapeAction::disconnect});
}

TEST(EscapeFilter, TildeThenControlByteIsForwarded) {
  EscapeFilter f;
  EscapeOutput o = f.feed("~\x03");
  EXPECT_EQ(o.send, "~\x03");
}

TEST(EscapeFilter, HeldTildeIsNotSentUntilTheNextByte) {
  EscapeFilter f;
  EXPECT_EQ(f.feed("~").send, "");
  EXPECT_TRUE(f.pending());
  EXPECT_EQ(f.feed("").send, "");
  EXPECT_TRUE(f.pending());
  EXPECT_EQ(f.feed("a").send, "~a");
  EXPECT_FALSE(f.pending());
}

TEST(EscapeFilter, EveryChunkingGivesTheSameResult) {
  const std::string input = "ls\r~?~~x\n~y~.\r~.after";
  EscapeFilter whole;
  const EscapeOutput expect = whole.feed(input);
  ASSERT_EQ(expect.send, "ls\r~x\n~y~.\r");
  ASSERT_EQ(expect.actions, (Actions{EscapeAction::help, EscapeAction::disconnect}));
  // Every split into two and into single bytes.
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    EscapeFilter f;
    EscapeOutput o = feed_all(f, {input.substr(0, cut), input.substr(cut)});
    EXPECT_EQ(o.send, expect.send) << "cut at " << cut;
    EXPECT_EQ(o.actions, expect.actions) << "cut at " << cut;
  }
  EscapeFilter f;
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  EscapeOutput o = feed_all(f, bytes);
  EXPECT_EQ(o.send, expect.send);
  EXPECT_EQ(o.actions, expect.actions);
}

TEST(EscapeFilter, DisabledFilterPassesEscapes) {
  EscapeFilter f(false);
  EscapeOutput o = f.feed("~.\r~?");
  EXPECT_EQ(o.send, "~.\r~?");
  EXPECT_TRUE(o.actions.empty());
}

TEST(EscapeFilter, HelpTextListsTheEscapesWithCrLf) {
  const std::string_view h = escape_help_text();
  EXPECT_NE(h.find("~."), std::string_view::npos);
  EXPECT_NE(h.find("~?"), std::string_view::npos);
  EXPECT_NE(h.find("~~"), std::string_view::npos);
  EXPECT_EQ(h.find("\n"), h.find("\r\n") + 1);
}

}  // namespace
}  // namespace ecsh::term
