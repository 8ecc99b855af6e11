// Dotted versions, compared the two ways ecsh needs (common/version.hpp).

#include "ecsh/common/version.hpp"

#include <gtest/gtest.h>

namespace ecsh {
namespace {

TEST(CompareVersions, PartByPartAsNumbersMissingPartsAreZero) {
  EXPECT_LT(compare_versions("1.9.0", "1.50.2"), 0);
  EXPECT_GT(compare_versions("1.50.10", "1.50.2"), 0);
  EXPECT_EQ(compare_versions("1.4", "1.4.0"), 0);
  EXPECT_LT(compare_versions("1.4", "1.4.1"), 0);
  EXPECT_EQ(compare_versions("", "0"), 0);
  EXPECT_LT(compare_versions("x.3", "1.0"), 0);  // a part that is not a number counts as 0
}

TEST(PluginVersionNewer, TheSessionManagerPluginsRule) {
  EXPECT_TRUE(plugin_version_newer("3.0.197.0", "3.0.196.0"));
  EXPECT_FALSE(plugin_version_newer("3.0.196.0", "3.0.196.0"));
  EXPECT_TRUE(plugin_version_newer("10.0.0.0", "9.9.9.9"));
  // Unlike compare_versions: a different number of parts, or a part that is not a number, is
  // never newer.
  EXPECT_FALSE(plugin_version_newer("3.1", "3.0.196.0"));
  EXPECT_FALSE(plugin_version_newer("3.1.0.0-beta", "3.0.196.0"));
  EXPECT_FALSE(plugin_version_newer("", "3.0.196.0"));
  EXPECT_FALSE(plugin_version_newer("3..0.0", "2.0.0.0"));
}

}  // namespace
}  // namespace ecsh
