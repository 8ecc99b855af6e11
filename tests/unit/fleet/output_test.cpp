#include "ecsh/fleet/output.hpp"

#include <gtest/gtest.h>

namespace ecsh::fleet {
namespace {

TEST(FleetLineBuffer, WholeLinesOnlyEachWithThePrefix) {
  LineBuffer b("3f2a91/app | ");
  EXPECT_EQ(b.feed("hel"), "");
  EXPECT_EQ(b.feed("lo\nwor"), "3f2a91/app | hello\n");
  EXPECT_EQ(b.feed("ld\n\nlast"), "3f2a91/app | world\n3f2a91/app | \n");
  EXPECT_EQ(b.finish(), "3f2a91/app | last\n");
  EXPECT_EQ(b.finish(), "");
}

TEST(FleetLineBuffer, NothingHeldWhenTheOutputEndsWithANewline) {
  LineBuffer b("p | ");
  EXPECT_EQ(b.feed("a\nb\n"), "p | a\np | b\n");
  EXPECT_EQ(b.finish(), "");
}

TEST(FleetLineBuffer, AnOverlongLineIsCutAtTheLimit) {
  LineBuffer b("p | ", 4);
  EXPECT_EQ(b.feed("abcdefghij"), "p | abcd\np | efgh\n");
  EXPECT_EQ(b.feed("\n"), "p | ij\n");
  // A line of exactly the limit waits for its newline: no empty line after it.
  EXPECT_EQ(b.feed("wxyz"), "");
  EXPECT_EQ(b.feed("\nq"), "p | wxyz\n");
  EXPECT_EQ(b.finish(), "p | q\n");
}

TEST(FleetLineBuffer, BinaryBytesPassThrough) {
  LineBuffer b("p | ");
  std::string bytes("\xff\x00\xfe\n", 4);
  EXPECT_EQ(b.feed(bytes), std::string("p | \xff\x00\xfe\n", 8));
}

TEST(FleetOutputMux, LinesModeInterleavesTasksOnlyAtLineBoundaries) {
  OutputMux mux(OutputMode::lines, {"aaaaaa/app", "bbbbbb/app"});
  auto e1 = mux.feed(0, Stream::out, "one-");
  auto e2 = mux.feed(1, Stream::out, "two\n");
  auto e3 = mux.feed(0, Stream::out, "half\n");
  auto e4 = mux.feed(1, Stream::err, "warn\n");
  EXPECT_EQ(e1.out, "");
  EXPECT_EQ(e2.out, "bbbbbb/app | two\n");
  EXPECT_EQ(e3.out, "aaaaaa/app | one-half\n");
  EXPECT_EQ(e4.out, "");
  EXPECT_EQ(e4.err, "bbbbbb/app | warn\n");
}

TEST(FleetOutputMux, GroupModeGivesEachTaskWholeWhenItFinishes) {
  OutputMux mux(OutputMode::group, {"aaaaaa/app", "bbbbbb/app"});
  EXPECT_EQ(mux.feed(0, Stream::out, "a1\n").out, "");
  EXPECT_EQ(mux.feed(1, Stream::out, "b1\n").out, "");
  EXPECT_EQ(mux.feed(0, Stream::err, "e1\n").err, "");
  EXPECT_EQ(mux.feed(0, Stream::out, "a2").out, "");
  auto a = mux.finish(0);
  EXPECT_EQ(a.out, "aaaaaa/app | a1\naaaaaa/app | a2\n");
  EXPECT_EQ(a.err, "aaaaaa/app | e1\n");
  auto b = mux.finish(1);
  EXPECT_EQ(b.out, "bbbbbb/app | b1\n");
}

TEST(FleetOutputMux, NothingAfterATaskFinished) {
  OutputMux mux(OutputMode::lines, {"aaaaaa/app"});
  EXPECT_EQ(mux.finish(0).out, "");
  EXPECT_EQ(mux.feed(0, Stream::out, "late\n").out, "");
  EXPECT_EQ(mux.finish(0).out, "");
  EXPECT_EQ(mux.feed(5, Stream::out, "unknown task\n").out, "");
}

}  // namespace
}  // namespace ecsh::fleet
