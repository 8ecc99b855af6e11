#pragma once

// The picker's pure parts: which items match the filter, where the cursor is, which rows are
// on screen, and how raw terminal bytes become keys. No I/O; picker.cpp draws and reads.
//
// Filtering: the filter is split on spaces into words; an item matches when it contains every
// word as a substring, ignoring ASCII case ("web prod" matches "prod-cluster/web-1"). Matches
// keep the original order. Substrings rather than subsequences: target names share most of
// their letters (cluster/service/task ids), so subsequence matching keeps nearly everything.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::term {

bool filter_matches(std::string_view item, std::string_view filter);

class PickerModel {
 public:
  explicit PickerModel(std::vector<std::string> items, std::size_t page_size = 10);

  const std::vector<std::string>& items() const { return items_; }
  const std::string& filter() const { return filter_; }

  // Filter editing. The selected item stays selected while it still matches; otherwise the
  // first match is selected.
  void set_filter(std::string filter);
  void type(std::string_view text);
  void backspace();    // removes the last UTF-8 character
  void delete_word();  // Ctrl-W: removes the last word and the spaces after it
  void clear_filter();

  // Cursor movement over the matches; clamps at both ends (no wrap-around).
  void up(std::size_t n = 1);
  void down(std::size_t n = 1);
  void page_up() { up(page_size_); }
  void page_down() { down(page_size_); }
  void home();
  void end();

  // Number of rows that show items; at least 1.
  void set_page_size(std::size_t rows);
  std::size_t page_size() const { return page_size_; }

  // Indexes into items() of the matches, in order.
  const std::vector<std::size_t>& matches() const { return matches_; }
  // Position of the cursor within matches(); nullopt when nothing matches.
  std::optional<std::size_t> cursor() const;
  // The chosen item's index into items(); nullopt when nothing matches.
  std::optional<std::size_t> selected() const;
  // The matches on screen: positions [first_visible, first_visible + visible_count) of matches().
  std::size_t first_visible() const { return first_; }
  std::size_t visible_count() const;

 private:
  void refilter();
  void scroll_to_cursor();

  std::vector<std::string> items_;
  std::string filter_;
  std::vector<std::size_t> matches_;
  std::size_t cursor_ = 0;  // into matches_
  std::size_t first_ = 0;   // into matches_
  std::size_t page_size_;
};

enum class KeyKind {
  text,  // printable text (UTF-8), in Key::text
  enter,
  cancel,  // Esc, Ctrl-C, Ctrl-G, Ctrl-D
  backspace,
  delete_word,
  clear_line,
  up,
  down,
  page_up,
  page_down,
  home,
  end,
  ignored,  // anything else (left/right, function keys, Alt-x, other control bytes)
};

struct Key {
  KeyKind kind = KeyKind::ignored;
  std::string text;
  friend bool operator==(const Key&, const Key&) = default;
};

// Raw-mode bytes to keys. An escape sequence may be split across reads; a lone Esc is only
// known to be Esc when no more bytes follow soon, so the caller calls flush() after a short
// quiet time (has_pending() says whether one is needed).
class KeyDecoder {
 public:
  std::vector<Key> feed(std::string_view bytes);
  std::vector<Key> flush();
  bool has_pending() const { return !pending_.empty(); }

 private:
  std::string pending_;
};

}  // namespace ecsh::term
