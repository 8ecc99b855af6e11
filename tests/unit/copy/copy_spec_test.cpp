#include "ecsh/copy/copy_spec.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>

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

// What a POSIX shell prints for the format: the bytes must come back exactly.
std::string through_sh(const std::string& format) {
  int out[2];
  EXPECT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::execl("/bin/sh", "sh", "-c", "b() { printf \"$1\"x; }; p=$(b \"$1\"); printf %s \"${p%x}\"",
            "sh", format.c_str(), static_cast<char*>(nullptr));
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
  return got;
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
      "caps tar=1 sha256sum=0 stat=1 base64=0\nf 1267 644 1796189509 1\nd 4096 "
      "755 1796192815 0\nn 0 644 0 1\n",
      3);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r.value().caps.tar);
  EXPECT_FALSE(r.value().caps.sha256sum);
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
  EXPECT_FALSE(parse_probe("caps tar=1\n", 1));         // cut short
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

TEST(CopySha256Lines, NamesAndEscapedNames) {
  std::string h(64, 'a');
  auto lines = parse_sha256_lines(h + "  ./d/f\n\\" + h + "  ./new\\nline\n" + h + "  -\nnoise\n");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].second, "./d/f");
  EXPECT_EQ(lines[1].first, h);
  EXPECT_EQ(lines[2].second, "-");
}

}  // namespace
}  // namespace ecsh::copy
