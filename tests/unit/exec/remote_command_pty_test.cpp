// Runs the wrapped command for real: split as the SSM agent splits it, executed directly under a
// pty with the local /bin/sh, stdin and output through the pty master as the agent does.

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/shlex.hpp"
#include "ecsh/exec/remote_command.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace ecsh;
using namespace ecsh::exec;

namespace {

struct Outcome {
  std::string out, err, preamble;
  std::optional<int> status;
  bool tty_configured = false;
  StdinDecoder decoder = StdinDecoder::base64;
};

// `path_override`: PATH for the remote side (to hide tools), empty to inherit.
Outcome run_remote(const std::vector<std::string>& words, std::optional<std::string> stdin_data,
                   const std::string& path_override = "") {
  std::string nonce = crypto::hex(crypto::random_bytes(16));
  auto rc = wrap_one_shot(words, stdin_data ? StdinMode::forward : StdinMode::none, nonce);
  auto argv_words = shlex::split(rc.command).value();
  std::vector<char*> argv;
  for (auto& w : argv_words) argv.push_back(w.data());
  argv.push_back(nullptr);

  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    if (!path_override.empty()) setenv("PATH", path_override.c_str(), 1);
    execv(argv[0], argv.data());
    _exit(127);
  }
  EXPECT_GT(pid, 0);

  OutputDemux demux(nonce);
  Outcome o;
  std::string to_send;
  bool encoder_ready = false;
  std::optional<StdinEncoder> encoder;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool eof = false;
  while (!eof && std::chrono::steady_clock::now() < deadline) {
    if (stdin_data && demux.started() && !encoder_ready) {
      encoder.emplace(demux.decoder());
      to_send = encoder->encode(*stdin_data);
      to_send += encoder->finish();
      encoder_ready = true;
    }
    pollfd p{master, static_cast<short>(POLLIN | (to_send.empty() ? 0 : POLLOUT)), 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    if (p.revents & POLLOUT) {
      auto n = write(master, to_send.data(), std::min<std::size_t>(to_send.size(), 1024));
      if (n > 0) to_send.erase(0, static_cast<std::size_t>(n));
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      auto n = read(master, buf, sizeof buf);
      if (n <= 0) {
        eof = true;  // EIO once the slave side is closed
      } else {
        auto c = demux.feed(std::string_view(buf, static_cast<std::size_t>(n)));
        o.out += c.stdout_bytes;
        o.err += c.stderr_bytes;
      }
    }
  }
  EXPECT_TRUE(to_send.empty()) << to_send.size() << " bytes of stdin were never written";
  close(master);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  o.status = demux.exit_status();
  o.tty_configured = demux.tty_configured();
  o.decoder = demux.decoder();
  o.preamble = demux.preamble();
  EXPECT_TRUE(demux.finished());
  return o;
}

}  // namespace

TEST(RemoteCommandUnderPty, ExitStatusesComeBack) {
  for (int code : {0, 1, 7, 255}) {
    auto o = run_remote({"sh", "-c", "exit " + std::to_string(code)}, std::nullopt);
    ASSERT_TRUE(o.status.has_value());
    EXPECT_EQ(*o.status, code);
    EXPECT_TRUE(o.out.empty()) << o.out;
  }
}

TEST(RemoteCommandUnderPty, StdoutIsByteExactAndStderrSeparate) {
  auto file = std::filesystem::temp_directory_path() / ("ecsh-bin-" + crypto::uuid4());
  std::string binary;
  for (int r = 0; r < 300; ++r)
    for (int i = 0; i < 256; ++i) binary += static_cast<char>(i);
  binary += "\n\r\n\x04\x03";
  std::ofstream(file, std::ios::binary) << binary;
  auto o =
      run_remote({"sh", "-c", "cat \"$0\"; echo oops >&2; exit 3", file.string()}, std::nullopt);
  std::filesystem::remove(file);
  EXPECT_TRUE(o.tty_configured);
  EXPECT_EQ(o.out.size(), binary.size());
  EXPECT_TRUE(o.out == binary) << "stdout differs";
  EXPECT_EQ(o.err, "oops\n");
  EXPECT_EQ(o.status, 3);
  EXPECT_TRUE(o.preamble.empty()) << o.preamble;
}

TEST(RemoteCommandUnderPty, ForwardedStdinArrivesExactlyAndEnds) {
  // Random bytes, long runs without a newline, every byte value, and control bytes at the end.
  std::string data = crypto::random_bytes(1 << 20) + std::string(10'000, '\0');
  for (int r = 0; r < 30; ++r)
    for (int i = 0; i < 256; ++i) data += static_cast<char>(i);
  data += "\n\x04\x16\x03\r";
  auto o = run_remote({"cat"}, data);
  EXPECT_EQ(o.decoder, StdinDecoder::terminal);
  EXPECT_TRUE(o.tty_configured);
  EXPECT_EQ(o.out.size(), data.size());
  EXPECT_TRUE(o.out == data) << "stdin round trip differs";
  EXPECT_EQ(o.status, 0);
}

namespace {

// A PATH with only `tools`, and `cat` under another name (ecsh-cat) for the test's command, so
// that the wrapper does not find cat.
std::filesystem::path path_with(std::initializer_list<const char*> tools) {
  auto dir = std::filesystem::temp_directory_path() / ("ecsh-path-" + crypto::uuid4());
  std::filesystem::create_directories(dir);
  auto link = [&](const char* tool, const char* as) {
    for (const char* bin : {"/usr/bin/", "/bin/"}) {
      std::filesystem::path p = std::string(bin) + tool;
      if (std::filesystem::exists(p)) {
        std::filesystem::create_symlink(p, dir / as);
        break;
      }
    }
  };
  for (const char* tool : tools) link(tool, tool);
  link("cat", "ecsh-cat");
  return dir;
}

}  // namespace

TEST(RemoteCommandUnderPty, WithoutCatTheBase64DecoderCarriesStdin) {
  auto dir = path_with({"stty", "rm", "wc", "base64"});
  std::string data = crypto::random_bytes(20'000);
  auto o = run_remote({"ecsh-cat"}, data, dir.string());
  std::filesystem::remove_all(dir);
  EXPECT_EQ(o.decoder, StdinDecoder::base64);
  EXPECT_TRUE(o.out == data) << "base64 round trip differs: " << o.out.size() << " bytes";
  EXPECT_EQ(o.status, 0);
}

TEST(RemoteCommandUnderPty, WithoutCatOrBase64ThePrintfDecoderCarriesStdin) {
  auto dir = path_with({"stty", "rm", "wc"});
  std::string data = crypto::random_bytes(20'000);
  auto o = run_remote({"ecsh-cat"}, data, dir.string());
  std::filesystem::remove_all(dir);
  EXPECT_EQ(o.decoder, StdinDecoder::printf_octal);
  EXPECT_TRUE(o.out == data) << "printf round trip differs: " << o.out.size() << " bytes";
  EXPECT_EQ(o.status, 0);
}

TEST(RemoteCommandUnderPty, NoStdinMeansEndOfFileAtOnce) {
  auto o = run_remote({"wc", "-c"}, std::nullopt);
  EXPECT_EQ(o.out, "0\n");
  EXPECT_EQ(o.status, 0);
}

TEST(RemoteCommandUnderPty, AMissingCommandSays127AndWhy) {
  auto o = run_remote({"ecsh-no-such-command"}, std::nullopt);
  EXPECT_EQ(o.status, 127);
  EXPECT_NE(o.err.find("not found"), std::string::npos) << o.err;
}
