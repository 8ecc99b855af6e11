#include "ecsh/exec/remote_command.hpp"
#include "ecsh/common/crypto.hpp"
#include "ecsh/common/shlex.hpp"

#include <gtest/gtest.h>

using namespace ecsh;
using namespace ecsh::exec;

namespace {
const std::string kNonce = "0123456789abcdef0123456789abcdef";

struct Demuxed {
  std::string out, err;
  std::optional<int> status;
  bool finished = false;
};

Demuxed run_in_pieces(std::string_view stream, std::size_t piece) {
  OutputDemux demux(kNonce);
  Demuxed d;
  for (std::size_t i = 0; i < stream.size(); i += piece) {
    auto c = demux.feed(stream.substr(i, piece));
    d.out += c.stdout_bytes;
    d.err += c.stderr_bytes;
  }
  d.status = demux.exit_status();
  d.finished = demux.finished();
  return d;
}
}  // namespace

TEST(RemoteCommand, IsOneShellInvocationTheAgentCanSplit) {
  auto rc = wrap_one_shot({"cat", "/etc/it's here"}, StdinMode::none, kNonce);
  auto words = shlex::split(rc.command);
  ASSERT_TRUE(words);
  ASSERT_EQ(words.value().size(), 3u);
  EXPECT_EQ(words.value()[0], "/bin/sh");
  EXPECT_EQ(words.value()[1], "-c");
  EXPECT_NE(words.value()[2].find("'cat' '/etc/it'\\''s here'"), std::string::npos);
  EXPECT_NE(words.value()[2].find("</dev/null"), std::string::npos);
  auto fwd = wrap_one_shot({"cat"}, StdinMode::forward, kNonce);
  EXPECT_EQ(fwd.command.find("</dev/null"), std::string::npos);
}

TEST(OutputDemux, SplitsStdoutStatusAndStderrAtEveryChunkBoundary) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary += static_cast<char>(i);
  // A partial nonce inside the output must pass through untouched.
  std::string stdout_data = binary + kNonce.substr(0, 20) + "\r\n" + kNonce + "X";
  std::string stream = "noise before\r\n" + kNonce + ":S1b:" + stdout_data + kNonce +
                       ":X42:" + "warning: on stderr\n" + kNonce + ":E:";
  for (std::size_t piece : {1u, 2u, 3u, 7u, 33u, 1000u}) {
    auto d = run_in_pieces(stream, piece);
    EXPECT_TRUE(d.finished) << piece;
    EXPECT_EQ(d.out, stdout_data) << piece;
    EXPECT_EQ(d.err, "warning: on stderr\n") << piece;
    ASSERT_TRUE(d.status.has_value()) << piece;
    EXPECT_EQ(*d.status, 42);
  }
}

TEST(OutputDemux, ReportsTheTerminalSetupAndDecoder) {
  OutputDemux demux(kNonce);
  EXPECT_FALSE(demux.started());
  demux.feed(kNonce + ":S0p:");
  EXPECT_TRUE(demux.started());
  EXPECT_FALSE(demux.tty_configured());
  EXPECT_EQ(demux.decoder(), StdinDecoder::printf_octal);
  EXPECT_FALSE(demux.finished());
}

TEST(OutputDemux, AStreamThatEndsEarlyHasNoStatus) {
  auto d = run_in_pieces(kNonce + ":S1b:partial output", 5);
  EXPECT_FALSE(d.finished);
  EXPECT_FALSE(d.status.has_value());
  EXPECT_EQ(d.out, "partial output");
}

TEST(OutputDemux, AnotherNonceIsJustOutput) {
  std::string other = "ffffffffffffffffffffffffffffffff";
  std::string stream =
      kNonce + ":S1b:" + other + ":X1:" + other + ":E:" + kNonce + ":X0:" + kNonce + ":E:";
  auto d = run_in_pieces(stream, 4);
  EXPECT_EQ(d.out, other + ":X1:" + other + ":E:");
  EXPECT_EQ(d.status, 0);
}

TEST(StdinEncoder, Base64LinesDecodeToTheInput) {
  std::string data = crypto::random_bytes(10'000);
  StdinEncoder enc(StdinDecoder::base64);
  std::string wire;
  for (std::size_t i = 0; i < data.size(); i += 777) wire += enc.encode(data.substr(i, 777));
  wire += enc.finish();
  ASSERT_EQ(wire.back(), '\x04');
  ASSERT_EQ(wire[wire.size() - 2], '\n');
  std::string joined;
  std::size_t longest = 0, start = 0;
  for (std::size_t i = 0; i + 1 < wire.size(); ++i) {
    if (wire[i] == '\n') {
      longest = std::max(longest, i - start);
      start = i + 1;
    } else {
      joined += wire[i];
    }
  }
  EXPECT_LT(longest, 4095u);  // the pty's canonical line limit
  EXPECT_EQ(crypto::base64_decode(joined), data);
}

TEST(StdinEncoder, TerminalPutsControlBytesBehindLiteralNext) {
  StdinEncoder enc(StdinDecoder::terminal);
  std::string wire = enc.encode(std::string("a\x03\n\0\x7f\xff\x16\x04\r\t", 10));
  EXPECT_EQ(wire, std::string("a\x16\x03\x16\n\0\x16\x7f\xff\x16\x16\x16\x04\x16\r\x16\t", 17));
  EXPECT_EQ(enc.finish(), "\x04\x04");  // hand the last line over, then end of file
}

TEST(StdinEncoder, TerminalLinesStayUnderTheCanonicalLimit) {
  StdinEncoder enc(StdinDecoder::terminal);
  std::string wire = enc.encode(std::string(8000, 'x'));
  EXPECT_EQ(wire, std::string(4000, 'x') + "\x04" + std::string(4000, 'x') + "\x04");
  EXPECT_EQ(enc.finish(), "\x04");  // the line is already empty: just end of file
}

TEST(StdinEncoder, EmptyInputIsJustEndOfFile) {
  StdinEncoder enc(StdinDecoder::base64);
  EXPECT_EQ(enc.finish(), "\x04");
  StdinEncoder oct(StdinDecoder::printf_octal);
  EXPECT_EQ(oct.finish(), "\x04");
  StdinEncoder term(StdinDecoder::terminal);
  EXPECT_EQ(term.finish(), "\x04");
}

TEST(StdinEncoder, OctalEscapesEveryByte) {
  StdinEncoder enc(StdinDecoder::printf_octal);
  std::string wire = enc.encode(std::string("A\0\377", 3));
  wire += enc.finish();
  EXPECT_EQ(wire, "\\101\\000\\377\n\x04");
}

TEST(OutputDemux, AFakeStatusMarkerIsFlushedAsOutputInTheSameChunk) {
  // Found by the exec_wrapping fuzzer: the bytes after a marker that is not followed by a status
  // were held back until the next chunk arrived.
  std::string fake = kNonce + ":X" + std::string(20, 'z');
  OutputDemux demux(kNonce);
  demux.feed(kNonce + ":S1b:");
  auto c = demux.feed(fake);
  EXPECT_EQ(c.stdout_bytes, fake);
}
