// shlex::split_posix against Python's shlex.split, which botocore uses for credential_process.
// Every expected value here is what Python 3's shlex.split returns for the same input.

#include "ecsh/common/shlex.hpp"

#include <gtest/gtest.h>

using ecsh::shlex::split_posix;
using Words = std::vector<std::string>;

namespace {
Words split(std::string_view s) {
  auto r = split_posix(s);
  EXPECT_TRUE(r) << s;
  return r ? r.value() : Words{"(error)"};
}
}  // namespace

TEST(SplitPosix, QuotedWordsWithSpacesAreOneWord) {
  EXPECT_EQ(split(R"(a "two words" 'single quoted' plain)"),
            (Words{"a", "two words", "single quoted", "plain"}));
  EXPECT_EQ(split(R"(a"b c"d)"), (Words{"ab cd"}));
  EXPECT_EQ(split(R"('it'\''s')"), (Words{"it's"}));
  EXPECT_EQ(split("  lead  trail  "), (Words{"lead", "trail"}));
  EXPECT_EQ(split("tab\there\nnl"), (Words{"tab", "here", "nl"}));
  EXPECT_EQ(split(""), Words{});
}

TEST(SplitPosix, EmptyQuotesAreEmptyWords) {
  EXPECT_EQ(split(R"('' "" x""y)"), (Words{"", "", "xy"}));
}

TEST(SplitPosix, BackslashesAsPythonTreatsThem) {
  // In double quotes only a double quote or a backslash is escaped; elsewhere it stays.
  EXPECT_EQ(split(R"("a\b" "a\"b" "a\\b")"), (Words{R"(a\b)", R"(a"b)", R"(a\b)"}));
  EXPECT_EQ(split(R"('a\b' "\$x" "\n")"), (Words{R"(a\b)", R"(\$x)", R"(\n)"}));
  // Outside quotes a backslash escapes any character.
  EXPECT_EQ(split(R"(back\ slash \$HOME)"), (Words{"back slash", "$HOME"}));
}

TEST(SplitPosix, ShellMetacharactersAndHashAreOrdinary) {
  EXPECT_EQ(split("a;b | c > d $(x) `y`"), (Words{"a;b", "|", "c", ">", "d", "$(x)", "`y`"}));
  EXPECT_EQ(split("# not a comment"), (Words{"#", "not", "a", "comment"}));
}

TEST(SplitPosix, UnterminatedQuotesAndTrailingBackslashAreErrors) {
  for (const char* bad : {R"("open)", "'open", R"(trail\)", R"("x\)"}) {
    auto r = split_posix(bad);
    EXPECT_FALSE(r) << bad;
  }
}
