#include "ecsh/term/picker_model.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ecsh::term {
namespace {

using Idx = std::vector<std::size_t>;

std::vector<std::string> numbered(std::size_t n) {
  std::vector<std::string> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back("item-" + std::to_string(i));
  return v;
}

std::vector<std::string> targets() {
  return {"prod/web/3f2a/nginx", "prod/web/3f2a/sidecar", "staging/web/77aa/nginx",
          "prod/worker/1b9c/app", "Staging/API/42de/app"};
}

TEST(FilterMatches, SubstringIgnoringAsciiCase) {
  EXPECT_TRUE(filter_matches("Staging/API/42de/app", "api"));
  EXPECT_TRUE(filter_matches("Staging/API/42de/app", "STAGING/a"));
  EXPECT_FALSE(filter_matches("prod/web/3f2a/nginx", "pwn"));  // not a subsequence matcher
  EXPECT_TRUE(filter_matches("anything", ""));
  EXPECT_TRUE(filter_matches("anything", "   "));
}

TEST(FilterMatches, EveryWordMustMatchInAnyOrder) {
  EXPECT_TRUE(filter_matches("prod/web/3f2a/nginx", "nginx prod"));
  EXPECT_FALSE(filter_matches("staging/web/77aa/nginx", "nginx prod"));
  EXPECT_TRUE(filter_matches("prod/web/3f2a/nginx", "  web   3f2a "));
}

TEST(PickerModel, StartsWithEverythingAndTheFirstSelected) {
  PickerModel m(targets(), 3);
  EXPECT_EQ(m.matches(), (Idx{0, 1, 2, 3, 4}));
  EXPECT_EQ(m.selected(), 0u);
  EXPECT_EQ(m.first_visible(), 0u);
  EXPECT_EQ(m.visible_count(), 3u);
}

TEST(PickerModel, TypingFiltersAndKeepsOrder) {
  PickerModel m(targets(), 10);
  m.type("nginx");
  EXPECT_EQ(m.matches(), (Idx{0, 2}));
  m.type(" stag");
  EXPECT_EQ(m.matches(), (Idx{2}));
  EXPECT_EQ(m.selected(), 2u);
}

TEST(PickerModel, SelectionFollowsTheItemWhileItStillMatches) {
  PickerModel m(targets(), 10);
  m.down(2);  // staging/web/77aa/nginx
  ASSERT_EQ(m.selected(), 2u);
  m.type("web");
  EXPECT_EQ(m.matches(), (Idx{0, 1, 2}));
  EXPECT_EQ(m.selected(), 2u);
  EXPECT_EQ(m.cursor(), 2u);
  m.type("/3f");  // the selected item drops out: the first match is selected
  EXPECT_EQ(m.matches(), (Idx{0, 1}));
  EXPECT_EQ(m.selected(), 0u);
}

TEST(PickerModel, NoMatchesMeansNoSelectionAndBackspaceRecovers) {
  PickerModel m(targets(), 10);
  m.type("zzz");
  EXPECT_TRUE(m.matches().empty());
  EXPECT_EQ(m.selected(), std::nullopt);
  EXPECT_EQ(m.cursor(), std::nullopt);
  EXPECT_EQ(m.visible_count(), 0u);
  m.down();
  m.end();
  EXPECT_EQ(m.selected(), std::nullopt);
  m.backspace();
  m.backspace();
  m.backspace();
  EXPECT_EQ(m.filter(), "");
  EXPECT_EQ(m.matches().size(), 5u);
  EXPECT_EQ(m.selected(), 0u);
}

TEST(PickerModel, BackspaceRemovesAWholeUtf8Character) {
  PickerModel m({"caf\xc3\xa9", "cafe"}, 10);
  m.type("caf\xc3\xa9");
  EXPECT_EQ(m.matches(), (Idx{0}));
  m.backspace();
  EXPECT_EQ(m.filter(), "caf");
  EXPECT_EQ(m.matches(), (Idx{0, 1}));
  m.backspace();
  m.backspace();
  m.backspace();
  m.backspace();  // on empty: nothing happens
  EXPECT_EQ(m.filter(), "");
}

TEST(PickerModel, DeleteWordAndClear) {
  PickerModel m(targets(), 10);
  m.type("prod web  ");
  m.delete_word();
  EXPECT_EQ(m.filter(), "prod ");
  m.clear_filter();
  EXPECT_EQ(m.filter(), "");
  EXPECT_EQ(m.matches().size(), 5u);
}

TEST(PickerModel, UpDownClampAtTheEnds) {
  PickerModel m(numbered(5), 10);
  m.up();
  EXPECT_EQ(m.selected(), 0u);
  m.down(3);
  EXPECT_EQ(m.selected(), 3u);
  m.down(100);
  EXPECT_EQ(m.selected(), 4u);
  m.down();
  EXPECT_EQ(m.selected(), 4u);
  m.up(2);
  EXPECT_EQ(m.selected(), 2u);
}

TEST(PickerModel, ScrollingKeepsTheCursorVisible) {
  PickerModel m(numbered(20), 5);
  for (int i = 0; i < 4; ++i) m.down();
  EXPECT_EQ(m.selected(), 4u);
  EXPECT_EQ(m.first_visible(), 0u);
  m.down();  // row 5: the window scrolls by one
  EXPECT_EQ(m.selected(), 5u);
  EXPECT_EQ(m.first_visible(), 1u);
  m.up(3);  // row 2, still visible from 1
  EXPECT_EQ(m.first_visible(), 1u);
  m.up();
  m.up();  // row 0
  EXPECT_EQ(m.first_visible(), 0u);
}

TEST(PickerModel, PagesHomeAndEnd) {
  PickerModel m(numbered(23), 5);
  m.page_down();
  EXPECT_EQ(m.selected(), 5u);
  EXPECT_EQ(m.first_visible(), 1u);
  m.page_down();
  m.page_down();
  m.page_down();
  EXPECT_EQ(m.selected(), 20u);
  m.page_down();
  EXPECT_EQ(m.selected(), 22u);
  EXPECT_EQ(m.first_visible(), 18u);
  EXPECT_EQ(m.visible_count(), 5u);
  m.page_up();
  EXPECT_EQ(m.selected(), 17u);
  EXPECT_EQ(m.first_visible(), 17u);
  m.home();
  EXPECT_EQ(m.selected(), 0u);
  EXPECT_EQ(m.first_visible(), 0u);
  m.end();
  EXPECT_EQ(m.selected(), 22u);
  EXPECT_EQ(m.first_visible(), 18u);
}

TEST(PickerModel, ShrinkingMatchesKeepsThePageFull) {
  PickerModel m(numbered(30), 5);
  m.end();      // item-29, window 25..29
  m.type("1");  // item-1, item-10..19, item-21: 12 matches, item-29 is gone
  EXPECT_EQ(m.matches().size(), 12u);
  EXPECT_EQ(m.selected(), 1u);
  EXPECT_EQ(m.first_visible(), 0u);
  EXPECT_EQ(m.visible_count(), 5u);
}

TEST(PickerModel, ResizingThePageScrollsToTheCursor) {
  PickerModel m(numbered(20), 10);
  m.down(9);
  EXPECT_EQ(m.first_visible(), 0u);
  m.set_page_size(3);
  EXPECT_EQ(m.first_visible(), 7u);
  EXPECT_EQ(m.visible_count(), 3u);
  m.set_page_size(0);  // at least one row
  EXPECT_EQ(m.page_size(), 1u);
  EXPECT_EQ(m.first_visible(), 9u);
}

std::vector<Key> keys_of(std::initializer_list<KeyKind> kinds) {
  std::vector<Key> v;
  for (KeyKind k : kinds) {
    Key key;
    key.kind = k;
    v.push_back(key);
  }
  return v;
}

Key text(std::string s) {
  Key k;
  k.kind = KeyKind::text;
  k.text = std::move(s);
  return k;
}

TEST(KeyDecoder, ArrowsPagesHomeEndInBothEncodings) {
  KeyDecoder d;
  EXPECT_EQ(d.feed("\x1b[A\x1b[B\x1bOA\x1bOB"),
            keys_of({KeyKind::up, KeyKind::down, KeyKind::up, KeyKind::down}));
  EXPECT_EQ(d.feed("\x1b[5~\x1b[6~"), keys_of({KeyKind::page_up, KeyKind::page_down}));
  EXPECT_EQ(d.feed("\x1b[H\x1b[F\x1bOH\x1bOF\x1b[1~\x1b[4~\x1b[7~\x1b[8~"),
            keys_of({KeyKind::home, KeyKind::end, KeyKind::home, KeyKind::end, KeyKind::home,
                     KeyKind::end, KeyKind::home, KeyKind::end}));
  EXPECT_FALSE(d.has_pending());
}

TEST(KeyDecoder, TextEnterAndControlKeys) {
  KeyDecoder d;
  std::vector<Key> expect = {text("ab c")};
  auto more = keys_of({KeyKind::backspace, KeyKind::backspace, KeyKind::delete_word,
                       KeyKind::clear_line, KeyKind::up, KeyKind::down, KeyKind::enter,
                       KeyKind::enter, KeyKind::cancel, KeyKind::cancel, KeyKind::cancel});
  expect.insert(expect.end(), more.begin(), more.end());
  EXPECT_EQ(d.feed("ab c\x7f\x08\x17\x15\x10\x0e\r\n\x03\x04\x07"), expect);
}

TEST(KeyDecoder, SequenceSplitAcrossReads) {
  KeyDecoder d;
  EXPECT_TRUE(d.feed("x\x1b").size() == 1);
  EXPECT_TRUE(d.has_pending());
  EXPECT_TRUE(d.feed("[").empty());
  EXPECT_TRUE(d.has_pending());
  EXPECT_TRUE(d.feed("6").empty());
  EXPECT_EQ(d.feed("~"), keys_of({KeyKind::page_down}));
  EXPECT_FALSE(d.has_pending());
}

TEST(KeyDecoder, LoneEscIsCancelOnlyAfterFlush) {
  KeyDecoder d;
  EXPECT_TRUE(d.feed("\x1b").empty());
  EXPECT_EQ(d.flush(), keys_of({KeyKind::cancel}));
  EXPECT_FALSE(d.has_pending());
  EXPECT_TRUE(d.flush().empty());
}

TEST(KeyDecoder, UnfinishedSequenceIsDroppedOnFlush) {
  KeyDecoder d;
  EXPECT_TRUE(d.feed("\x1b[1;").empty());
  EXPECT_EQ(d.flush(), keys_of({KeyKind::ignored}));
  EXPECT_EQ(d.feed("a"), std::vector<Key>{text("a")});
}

TEST(KeyDecoder, EscFollowedByAKeyCancels) {
  KeyDecoder d;
  auto keys = d.feed("\x1bq");
  ASSERT_FALSE(keys.empty());
  EXPECT_EQ(keys[0].kind, KeyKind::cancel);
}

TEST(KeyDecoder, UnknownSequencesAreIgnored) {
  KeyDecoder d;
  EXPECT_EQ(d.feed("\x1b[C\x1b[D\x1b[15~\x1b[1;5A"),
            keys_of({KeyKind::ignored, KeyKind::ignored, KeyKind::ignored, KeyKind::up}));
}

TEST(KeyDecoder, Utf8TextStaysTogether) {
  KeyDecoder d;
  EXPECT_EQ(d.feed("\xc3\xa9t\xc3\xa9"), std::vector<Key>{text("\xc3\xa9t\xc3\xa9")});
}

}  // namespace
}  // namespace ecsh::term
