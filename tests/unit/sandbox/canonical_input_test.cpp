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

namespace {

// The line discipline's rules one byte at a time, as obviously as they can be written: what a
// reader gets, and whether it read end of file.
std::pair<std::string, bool> canonical_one_byte_at_a_time(std::string_view wire) {
  std::string got;
  bool literal = false;
  bool line_empty = true;
  for (char c : wire) {
    if (literal) {
      got += c;
      literal = false;
      line_empty = false;
    } else if (c == '\x16') {
      literal = true;
    } else if (c == '\x04') {
      if (line_empty) return {got, true};
      line_empty = true;
    } else {
      got += c;
      line_empty = c == '\n';
    }
  }
  return {got, false};
}

}  // namespace

TEST(CanonicalInput, AgreesWithTheRulesOneByteAtATime) {
  // Input made of ^V, ^D, newlines and letters (runs of ^V, ^V^D, ^D after a newline or an
  // escaped newline), dense and sparse (runs of ordinary bytes longer than a 16-byte block, with
  // the ^V at every position in one), fed in random pieces: the fast path agrees with the rules.
  const std::string dense("\x16\x16\x16\x04\n\nabcdefghij", 16);
  std::string sparse("\x16\x04\n", 3);
  sparse += std::string(61, 'x');
  for (const std::string& alphabet : {dense, sparse}) {
    for (int round = 0; round < 300; ++round) {
      const std::string noise = ecsh::crypto::random_bytes(2000);
      std::string wire;
      for (unsigned char r : noise) wire += alphabet[r % alphabet.size()];
      const auto [want, want_eof] = canonical_one_byte_at_a_time(wire);
      CanonicalInput in;
      std::string got;
      bool eof = false;
      for (std::size_t i = 0; i < wire.size() && !eof;) {
        const std::size_t n = 1 + static_cast<unsigned char>(noise[i % noise.size()]) % 80;
        auto out = in.feed(std::string_view(wire).substr(i, n));
        got += out.data;
        eof = out.end_of_file;
        i += n;
      }
      ASSERT_EQ(got, want) << "round " << round;
      ASSERT_EQ(eof, want_eof) << "round " << round;
    }
  }
}
