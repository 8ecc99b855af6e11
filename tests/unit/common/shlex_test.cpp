#include "ecsh/common/shlex.hpp"

#include <gtest/gtest.h>

using namespace ecsh;

TEST(Shlex, SplitsLikeGoogleShlex) {
  // google/shlex's own reference string: comments only at a word's start, backslash escapes
  // inside double quotes, single quotes literal.
  auto words = shlex::split(
      "one two \"three four\" \"five \\\"six\\\"\" seven#eight # nine # ten\n eleven "
      "'twelve\\' thirteen=13 fourteen/14");
  ASSERT_TRUE(words) << words.error().message;
  EXPECT_EQ(words.value(),
            (std::vector<std::string>{"one", "two", "three four", "five \"six\"", "seven#eight",
                                      "eleven", "twelve\\", "thirteen=13", "fourteen/14"}));
}

TEST(Shlex, BackslashInDoubleQuotesEscapesAnyCharacter) {
  // Unlike POSIX sh, where "\a" keeps the backslash.
  auto words = shlex::split(R"("\a\b" x\ y)");
  ASSERT_TRUE(words);
  EXPECT_EQ(words.value(), (std::vector<std::string>{"ab", "x y"}));
}

TEST(Shlex, UnterminatedInputIsAnError) {
  EXPECT_FALSE(shlex::split("echo 'abc"));
  EXPECT_FALSE(shlex::split("echo \"abc"));
  EXPECT_FALSE(shlex::split("echo abc\\"));
}

TEST(Shlex, QuotedWordsSurviveSplitting) {
  std::vector<std::string> tricky = {"",   "it's", "a b", "\"",     "\\",  "$HOME", "#x",
                                     "\n", "'",    "''",  "a\tb\r", "é ✓", "-c",    "x;y|z"};
  auto words = shlex::split(shlex::join(tricky));
  ASSERT_TRUE(words) << words.error().message;
  EXPECT_EQ(words.value(), tricky);
}

TEST(Shlex, EmptyAndBlankCommandsHaveNoWords) {
  EXPECT_TRUE(shlex::split("").value().empty());
  EXPECT_TRUE(shlex::split("  \t\n # only a comment").value().empty());
}
