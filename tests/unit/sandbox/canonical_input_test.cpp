// The sandbox's stand-in for a pty's canonical input (--agent-io pipes): what the command would
// read from the pty is what the pipe carries.

#include "sandbox/ssm/agent_output.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/exec/remote_command.hpp"

#include <gtest/gtest.h>

using ecsh::sandbox::ssm::CanonicalInput;

TEST(CanonicalInput, LiteralNextMakesAnyByteDataAndEndOfFileStops) {
  CanonicalInput in;
  // ^V^D and ^V^V^V\n are data; the first bare ^D hands the line over, the second (on an
  // empty line) is end of file.
  auto out =
      in.feed(std::string("a\x16\x04"
                          "b\x16\x16\x16\n\x04",
                          9));
  EXPECT_EQ(out.data, std::string("a\x04"
                                  "b\x16\n",
                                  5));
  EXPECT_FALSE(out.end_of_file);
  auto end = in.feed(
      "\x04"
      "after");
  EXPECT_TRUE(end.end_of_file);
  EXPECT_EQ(end.data, "");
}

TEST(CanonicalInput, EndOfFileOnAnEmptyLineOnly) {
  CanonicalInput in;
  auto out = in.feed("abc\x04\x04tail");
  EXPECT_EQ(out.data, "abc");  // the first ^D hands "abc" over, the second is end of file
  EXPECT_TRUE(out.end_of_file);
}

TEST(CanonicalInput, CarriesWhatTheTerminalEncoderSends) {
  // The client's encoding, fed in odd pieces (a ^V may end one message and its byte start the
  // next), comes out as the original bytes and ends exactly there.
  std::string data = ecsh::crypto::random_bytes(50'000);
  ecsh::exec::StdinEncoder enc(ecsh::exec::StdinDecoder::terminal);
  std::string wire;
  for (std::size_t i = 0; i < data.size(); i += 999) wire += enc.encode(data.substr(i, 999));
  wire += enc.finish();
  CanonicalInput in;
  std::string got;
  bool eof = false;
  for (std::size_t i = 0; i < wire.size() && !eof; i += 1024) {
    auto out = in.feed(std::string_view(wire).substr(i, 1024));
    got += out.data;
    eof = out.end_of_file;
  }
  EXPECT_TRUE(eof);
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

TEST(CanonicalInput, CarriesBase64LinesAsBefore) {
  ecsh::exec::StdinEncoder enc(ecsh::exec::StdinDecoder::base64);
  std::string wire = enc.encode("hello");
  wire += enc.finish();
  CanonicalInput in;
  auto out = in.feed(wire);
  EXPECT_TRUE(out.end_of_file);
  EXPECT_EQ(ecsh::crypto::base64_decode(out.data.substr(0, out.data.size() - 1)), "hello");
}
