// doctor --all's rows (doctor/estate.hpp): the verdict from the checks, and the order.

#include "ecsh/doctor/estate.hpp"

#include <gtest/gtest.h>

namespace ecsh::doctor {
namespace {

Check check(std::string id, Status status) {
  Check c;
  c.id = std::move(id);
  c.title = c.id;
  c.status = status;
  return c;
}

EstateRow row(std::string cluster, std::string service, Verdict v) {
  EstateRow r;
  r.cluster = std::move(cluster);
  r.service = std::move(service);
  r.verdict = v;
  return r;
}

TEST(Estate, OneFailureBlocksAndTheFailuresAreTheReasons) {
  auto r = judge(EstateRow{}, {check("a", Status::ok), check("b", Status::unknown),
                               check("c", Status::fail), check("d", Status::fail)});
  EXPECT_EQ(r.verdict, Verdict::blocked);
  ASSERT_EQ(r.blocking.size(), 2u);  // the failures only, in doctor's order
  EXPECT_EQ(r.blocking[0].id, "c");
  EXPECT_EQ(verdict_name(r.verdict), "blocked");
}

TEST(Estate, UndecidedWithoutFailuresIsUnknownNeverReady) {
  auto r = judge(EstateRow{},
                 {check("a", Status::ok), check("b", Status::unknown), check("i", Status::info)});
  EXPECT_EQ(r.verdict, Verdict::unknown);
  ASSERT_EQ(r.blocking.size(), 1u);
  EXPECT_EQ(r.blocking[0].id, "b");
  r = judge(EstateRow{}, {check("a", Status::ok), check("i", Status::info)});
  EXPECT_EQ(r.verdict, Verdict::ready);
  EXPECT_TRUE(r.blocking.empty());
}

TEST(Estate, BlockedFirstThenUnknownThenReadyByName) {
  std::vector<EstateRow> rows{row("b", "x", Verdict::ready), row("a", "z", Verdict::blocked),
                              row("a", "y", Verdict::unknown), row("a", "b", Verdict::blocked),
                              row("a", "a", Verdict::ready)};
  sort_rows(rows);
  std::vector<std::string> order;
  for (const auto& r : rows) order.push_back(r.cluster + "/" + r.service);
  EXPECT_EQ(order, (std::vector<std::string>{"a/b", "a/z", "a/y", "a/a", "b/x"}));
}

}  // namespace
}  // namespace ecsh::doctor
