#include "ecsh/aws/regions.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace ecsh;
using namespace ecsh::aws;

TEST(Regions, TableHoldsEveryCommercialRegionOnceWithItsOptIn) {
  std::set<std::string_view> names;
  std::size_t commercial = 0;
  for (const auto& r : known_regions()) {
    EXPECT_TRUE(names.insert(r.name).second) << r.name << " is listed twice";
    if (r.partition == "aws") ++commercial;
  }
  // The commercial partition's 34 regions (botocore's endpoints.json lists the same).
  EXPECT_EQ(commercial, 34u);
  ASSERT_NE(find_region("us-east-1"), nullptr);
  EXPECT_FALSE(find_region("us-east-1")->opt_in);
  EXPECT_FALSE(find_region("eu-north-1")->opt_in);
  EXPECT_FALSE(find_region("ap-northeast-3")->opt_in);  // Osaka: after 2019, not opt-in
  EXPECT_TRUE(find_region("me-south-1")->opt_in);
  EXPECT_TRUE(find_region("af-south-1")->opt_in);
  EXPECT_TRUE(find_region("ap-east-1")->opt_in);
  EXPECT_EQ(find_region("cn-north-1")->partition, "aws-cn");
  EXPECT_EQ(find_region("us-gov-west-1")->partition, "aws-us-gov");
  EXPECT_EQ(find_region("mars-1"), nullptr);
  EXPECT_EQ(find_region("US-EAST-1"), nullptr);  // AWS's names are lower case
  EXPECT_EQ(find_region(""), nullptr);
}

TEST(Regions, EditDistanceCountsTranspositionsAsOneEdit) {
  EXPECT_EQ(edit_distance("us-east-1", "us-east-1"), 0u);
  EXPECT_EQ(edit_distance("us-eats-1", "us-east-1"), 1u);  // "ts" for "st"
  EXPECT_EQ(edit_distance("us-east1", "us-east-1"), 1u);
  EXPECT_EQ(edit_distance("useast1", "us-east-1"), 2u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Regions, SuggestsTheNearestRegionsWithinThreeEdits) {
  EXPECT_EQ(suggest_regions("us-eats-1"), std::vector<std::string_view>{"us-east-1"});
  EXPECT_EQ(suggest_regions("euwest1"), std::vector<std::string_view>{"eu-west-1"});
  EXPECT_EQ(suggest_regions("US-EAST-1"), std::vector<std::string_view>{"us-east-1"});
  EXPECT_EQ(suggest_regions("us-east-3"),
            (std::vector<std::string_view>{"us-east-1", "us-east-2"}));
  EXPECT_TRUE(suggest_regions("mars-1").empty());  // 5 edits from anything
  EXPECT_TRUE(suggest_regions("europe-west1").empty());
}

TEST(Regions, CheckAcceptsRealRegionsOfEveryPartition) {
  EXPECT_TRUE(check_region_name("eu-west-1", "--region"));
  EXPECT_TRUE(check_region_name("me-south-1", "--region"));  // opt-in: a real name all the same
  EXPECT_TRUE(check_region_name("cn-northwest-1", "--region"));
  EXPECT_TRUE(check_region_name("us-gov-east-1", "--region"));
}

TEST(Regions, CheckRefusesAnUnknownRegionWithTheNearestName) {
  auto typo = check_region_name("us-eats-1", "--region");
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().kind, ErrorKind::config);
  EXPECT_EQ(exit_code_for(typo.error()), 253);
  EXPECT_EQ(typo.error().message, "us-eats-1 is not an AWS region; did you mean us-east-1?");
  EXPECT_NE(typo.error().hint.find("--region"), std::string::npos);
  EXPECT_NE(typo.error().hint.find("ECSH_ALLOW_UNKNOWN_REGION=1"), std::string::npos);

  auto two = check_region_name("us-east-3", "AWS_REGION");
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().message,
            "us-east-3 is not an AWS region; did you mean us-east-1 or "
            "us-east-2?");
  EXPECT_NE(two.error().hint.find("AWS_REGION"), std::string::npos);

  auto many = check_region_name("ap-southeast-9", "--region");
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().message,
            "ap-southeast-9 is not an AWS region; did you mean ap-southeast-1, ap-southeast-2, "
            "ap-southeast-3, …?");

  auto far = check_region_name("mars-1", "--region");
  ASSERT_FALSE(far);
  EXPECT_EQ(far.error().message,
            "mars-1 is not an AWS region; AWS's regions are named like us-east-1, eu-west-2 or "
            "ap-southeast-1");
}

TEST(Regions, EscapeHatchValues) {
  EXPECT_FALSE(allows_unknown_region(std::nullopt));
  EXPECT_FALSE(allows_unknown_region("0"));
  EXPECT_FALSE(allows_unknown_region("no"));
  EXPECT_TRUE(allows_unknown_region("1"));
  EXPECT_TRUE(allows_unknown_region("true"));
  EXPECT_TRUE(allows_unknown_region("YES"));
}
