#include "ecsh/copy/copy_spec.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

namespace ecsh::copy {
namespace {

TEST(CopyOperand, RemoteAndLocal) {
  auto a = parse_operand(":/etc/app.conf");
  EXPECT_TRUE(a.remote);
  EXPECT_EQ(a.path, "/etc/app.conf");
  EXPECT_EQ(a.task, "");
  auto b = parse_operand("3f2a91/app:/srv/data");
  EXPECT_TRUE(b.remote);
  EXPECT_EQ(b.task, "3f2a91");
  EXPECT_EQ(b.container, "app");
  EXPECT_EQ(b.path, "/srv/data");
  auto c = parse_operand("0123456789abcdef0123456789abcdef:x");
  EXPECT_TRUE(c.remote);
  EXPECT_EQ(c.container, "");
  // Not a task ID: local paths, colons and all.
  for (const char* local :
       {"./a:b", "notes:today", "3f2:x", "XYZ123:a", "abcd/:x", "/abs:path", "-", "dir/"}) {
    EXPECT_FALSE(parse_operand(local).remote) << local;
    EXPECT_EQ(parse_operand(local).path, local);
  }
}

TEST(CopyPlan, DirectionAndTheOneTask) {
  auto up = plan_copy({"a", "b", ":/dst/"});
  ASSERT_TRUE(up);
  EXPECT_EQ(up.value().direction, Direction::upload);
  EXPECT_EQ(up.value().sources.size(), 2u);
  auto down = plan_copy({"3f2a91/app::/x", "3f2a91/app::/y", "."});
  ASSERT_TRUE(down);
  EXPECT_EQ(down.value().direction, Direction::download);
  EXPECT_EQ(down.value().task, "3f2a91");
  EXPECT_EQ(down.value().container, "app");
  EXPECT_EQ(down.value().sources[0].path, ":/x");  // TASK/C: then the path ":/x"
}

TEST(CopyPlan, RefusesWhatCannotBeACopy) {
  EXPECT_EQ(plan_copy({"only-one"}).error().kind, ErrorKind::usage);
  EXPECT_NE(plan_copy({"a", "b"}).error().message.find("both sides are local"), std::string::npos);
  EXPECT_NE(plan_copy({":a", ":b"}).error().message.find("both sides are in the container"),
            std::string::npos);
  EXPECT_NE(plan_copy({":a", "b", "c"}).error().message.find("one side"), std::string::npos);
  EXPECT_NE(plan_copy({"3f2a91::/a", "4f2a91::/b", "."}).error().message.find("different tasks"),
            std::string::npos);
  EXPECT_FALSE(plan_copy({"-", "b", ":/d/"}));   // stdin is the only source or none
  EXPECT_FALSE(plan_copy({":/a", ":/b", "-"}));  // stdout takes one file
  EXPECT_FALSE(plan_copy({":", "x"}));           // an empty remote path
}

TEST(CopyNames, BaseName) {
  EXPECT_EQ(base_name("/a/b/c.txt"), "c.txt");
  EXPECT_EQ(base_name("a/b/"), "b");
  EXPECT_EQ(base_name("name"), "name");
  EXPECT_EQ(base_name("/"), "");
  EXPECT_EQ(local_temp_name("dir/f", "abc"), "dir/f.ecsh-tmp-abc");
}

// Runs a script (one of the copy scripts) through /bin/sh with ARGS; its stdout and exit status.
// `sh -c SCRIPT sh ARGS...`: its stdout and exit status. Stdin from `stdin_path` (else this
// process's); PATH set to `path` when given.
std::pair<std::string, int> run_script(const std::string& script,
                                       const std::vector<std::string>& args,
                                       const std::string& stdin_path = {},
                                       const std::string& path = {}) {
  int out[2];
  EXPECT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    if (!stdin_path.empty()) {
      int in = ::open(stdin_path.c_str(), O_RDONLY);
      if (in < 0) ::_exit(126);
      ::dup2(in, 0);
    }
    if (!path.empty()) ::setenv("PATH", path.c_str(), 1);
    std::vector<char*> argv{const_cast<char*>("sh"), const_cast<char*>("-c"),
                            const_cast<char*>(script.c_str()), const_cast<char*>("sh")};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv("/bin/sh", argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {got, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// What a POSIX shell prints for the format: the bytes must come back exactly.
std::string through_sh(const std::string& format) {
  return run_script("b() { printf \"$1\"x; }; p=$(b \"$1\"); printf %s \"${p%x}\"", {format}).first;
}

TEST(CopyPrintfFormat, EveryByteSurvivesTheShell) {
  std::string all;
  for (int c = 1; c < 256; ++c) all.push_back(static_cast<char>(c));  // argv cannot hold NUL
  std::string format = printf_format(all);
  for (char c : format) {
    EXPECT_TRUE(c >= 0x21 && c <= 0x7e) << "not plain ASCII: " << int(c);
    EXPECT_NE(c, '\'');
    EXPECT_NE(c, '"');
    EXPECT_NE(c, '%');
  }
  EXPECT_EQ(through_sh(format), all);
  for (std::string name : {"with space", "new\nline\n\n", "caf\xe9", "-x", "%s%d", "a\\nb"}) {
    EXPECT_EQ(through_sh(printf_format(name)), name) << name;
  }
  EXPECT_EQ(printf_format("plain/path-1.2_x"), "plain/path-1.2_x");
}

TEST(CopyProbe, ParsesCapabilitiesAndEntries) {
  auto r = parse_probe(
      "caps tar=1 checksum= stat=1 base64=0\nf 1267 644 1796189509 1\nd 4096 "
      "755 1796192815 0\nn 0 644 0 1\n",
      3);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r.value().caps.tar);
  EXPECT_FALSE(r.value().caps.has_checksum());
  EXPECT_TRUE(r.value().caps.stat);
  EXPECT_FALSE(r.value().caps.base64);
  ASSERT_EQ(r.value().entries.size(), 3u);
  EXPECT_EQ(r.value().entries[0].type, 'f');
  EXPECT_EQ(r.value().entries[0].size, 1267u);
  EXPECT_EQ(r.value().entries[0].mode, 0644u);
  EXPECT_EQ(r.value().entries[0].mtime, 1796189509);
  EXPECT_TRUE(r.value().entries[0].parent_writable);
  EXPECT_EQ(r.value().entries[1].mode, 0755u);
  EXPECT_FALSE(r.value().entries[1].parent_writable);
  EXPECT_EQ(r.value().entries[2].type, 'n');
  EXPECT_EQ(parse_probe("sh: 1: bad\n", 1).error().kind, ErrorKind::protocol);
  EXPECT_FALSE(parse_probe("caps tar=1\n", 1));  // cut short
  // The checksum program the container offers; anything else is none.
  auto b2 = parse_probe("caps tar=1 checksum=b2sum stat=1\n", 0);
  ASSERT_TRUE(b2);
  EXPECT_EQ(b2.value().caps.checksum, "b2sum");
  EXPECT_EQ(b2.value().caps.digest(), crypto::FileDigest::blake2b);
  auto sha = parse_probe("caps tar=1 checksum=sha256sum stat=1\n", 0);
  ASSERT_TRUE(sha);
  EXPECT_EQ(sha.value().caps.digest(), crypto::FileDigest::sha256);
  EXPECT_FALSE(parse_probe("caps tar=1 checksum=rm stat=1\n", 0).value().caps.has_checksum());
  EXPECT_FALSE(parse_probe("caps tar=1\nf 1 2\n", 1));  // malformed
}

TEST(CopyRemoteStatus, EachStatusHasItsMessage) {
  EXPECT_FALSE(remote_error(0, "/x", ""));
  EXPECT_NE(remote_error(2, "/x", "")->message.find("no such file"), std::string::npos);
  EXPECT_NE(remote_error(13, "/x", "")->message.find("permission denied"), std::string::npos);
  EXPECT_NE(remote_error(17, "/x", "")->message.find("already exists"), std::string::npos);
  EXPECT_NE(remote_error(20, "/x", "")->message.find("does not exist"), std::string::npos);
  EXPECT_NE(remote_error(21, "/x", "")->hint.find("-r"), std::string::npos);
  EXPECT_NE(remote_error(28, "/x", "")->message.find("no space left"), std::string::npos);
  EXPECT_NE(remote_error(40, "/x", "")->message.find("needs tar"), std::string::npos);
  for (int s : {2, 13, 17, 20, 21, 28, 40})
    EXPECT_EQ(remote_error(s, "/x", "")->kind, ErrorKind::usage);
  auto other = remote_error(1, "/x", "cat: read error\n");
  EXPECT_EQ(other->kind, ErrorKind::connection);
  EXPECT_NE(other->message.find("cat: read error"), std::string::npos);
}

TEST(CopyChecksumLines, NamesAndEscapedNames) {
  std::string h(64, 'a');
  auto lines =
      parse_checksum_lines(h + "  ./d/f\n\\" + h + "  ./new\\nline\n" + h + "  -\nnoise\n");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].second, "./d/f");
  EXPECT_EQ(lines[1].first, h);
  EXPECT_EQ(lines[2].second, "-");
  // b2sum's 128 digits; a name made of hex digits is still the name.
  std::string b(128, 'b');
  lines = parse_checksum_lines(b + "  ./x\n" + h + "  " + std::string(70, 'c') + "\n" +
                               std::string(100, 'd') + "  ./odd-length\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].first, b);
  EXPECT_EQ(lines[1].first, h);
  EXPECT_EQ(lines[1].second, std::string(70, 'c'));
}

TEST(CopyScripts, TheChecksumMatchesWhatEcshComputesHere) {
  char dir[] = "/tmp/ecsh-copy-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/data";
  const std::string content = "what a container holds\n";
  {
    FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(content.data(), 1, content.size(), f);
    std::fclose(f);
  }
  for (auto [program, digest] : {std::pair{"b2sum", crypto::FileDigest::blake2b},
                                 std::pair{"sha256sum", crypto::FileDigest::sha256}}) {
    crypto::FileDigestStream here(digest);
    here.update(content);
    auto [out, status] = run_script(hash_script(), {program, "file", printf_format(file)});
    EXPECT_EQ(status, 0) << program;
    auto lines = parse_checksum_lines(out);
    ASSERT_EQ(lines.size(), 1u) << program << ": " << out;
    EXPECT_EQ(lines[0].first, here.finish_hex()) << program;
  }
  // Only a checksum program runs: a name the client did not get from the probe is refused.
  auto [out, status] = run_script(hash_script(), {"cat", "file", printf_format(file)});
  EXPECT_EQ(status, static_cast<int>(RemoteStatus::no_tar));
  EXPECT_EQ(out, "");
  std::filesystem::remove_all(dir);
}

TEST(CopyScripts, AnUploadIsCheckedAsItArrivesAndCommittedOnlyWhenWhole) {
  char dir[] = "/tmp/ecsh-copy-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string d(dir);
  const std::string source = d + "/source";
  std::string content;
  for (int i = 0; i < 200000; ++i) content += static_cast<char>((i * 7919) % 251);
  {
    FILE* f = std::fopen(source.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(content.data(), 1, content.size(), f);
    std::fclose(f);
  }
  crypto::FileDigestStream here(crypto::FileDigest::blake2b);
  here.update(content);
  const std::string sum = here.finish_hex();
  // A PATH without tee: the file is written by cat and read again for its checksum.
  const std::string no_tee = d + "/bin";
  std::filesystem::create_directory(no_tee);
  for (const char* tool : {"cat", "b2sum", "chmod", "touch", "mv", "rm"}) {
    for (const char* where : {"/usr/bin/", "/bin/"}) {
      if (std::filesystem::exists(std::string(where) + tool)) {
        std::filesystem::create_symlink(std::string(where) + tool, no_tee + "/" + tool);
        break;
      }
    }
  }
  auto upload = [&](const std::string& dest, const std::string& expected,
                    const std::string& path = {}) {
    return run_script(write_temp_script(),
                      {printf_format(dest), "", "", "n1", expected, "clobber", "b2sum"}, source,
                      path);
  };
  for (const std::string& path : {std::string(), no_tee}) {
    const std::string how = path.empty() ? "through tee" : "without tee";
    const std::string dest = d + "/dest" + (path.empty() ? "-tee" : "-cat");
    auto [out, status] = upload(dest, sum, path);
    EXPECT_EQ(status, 0) << how << ": " << out;
    EXPECT_EQ(out, sum + "\ncommitted\n") << how;
    std::ifstream f(dest, std::ios::binary);
    std::string got((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(got == content) << how << ": " << got.size() << " bytes";
    // Another checksum expected (bytes changed on the way): status 41, nothing left behind.
    const std::string other = d + "/other" + (path.empty() ? "-tee" : "-cat");
    auto [out2, status2] = upload(other, std::string(sum.size(), '0'), path);
    EXPECT_EQ(status2, static_cast<int>(RemoteStatus::mismatch)) << how << ": " << out2;
    EXPECT_FALSE(std::filesystem::exists(other)) << how;
    EXPECT_FALSE(std::filesystem::exists(other + ".ecsh-tmp-n1")) << how;
  }
  // The temporary cannot be written (a directory holds its name): tee's failure is the
  // upload's, status 1, and the destination is not made from the checksum of what went by.
  const std::string blocked = d + "/blocked";
  std::filesystem::create_directory(blocked + ".ecsh-tmp-n1");
  auto [out3, status3] = upload(blocked, sum);
  EXPECT_EQ(status3, static_cast<int>(RemoteStatus::failed)) << out3;
  EXPECT_EQ(out3.find("committed"), std::string::npos) << out3;
  EXPECT_FALSE(std::filesystem::exists(blocked));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ecsh::copy
