#include "ecsh/term/picker_model.hpp"

#include <algorithm>

namespace ecsh::term {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size() && lower(hay[i + j]) == lower(needle[j])) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

}  // namespace

bool filter_matches(std::string_view item, std::string_view filter) {
  std::size_t pos = 0;
  while (pos < filter.size()) {
    const std::size_t start = filter.find_first_not_of(' ', pos);
    if (start == std::string_view::npos) break;
    std::size_t stop = filter.find(' ', start);
    if (stop == std::string_view::npos) stop = filter.size();
    if (!icontains(item, filter.substr(start, stop - start))) return false;
    pos = stop;
  }
  return true;
}

PickerModel::PickerModel(std::vector<std::string> items, std::size_t page_size)
    : items_(std::move(items)), page_size_(std::max<std::size_t>(page_size, 1)) {
  refilter();
}

void PickerModel::refilter() {
  const std::optional<std::size_t> previous = selected();
  matches_.clear();
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (filter_matches(items_[i], filter_)) matches_.push_back(i);
  }
  cursor_ = 0;
  if (previous) {
    auto it = std::find(matches_.begin(), matches_.end(), *previous);
    if (it != matches_.end()) cursor_ = static_cast<std::size_t>(it - matches_.begin());
  }
  first_ = std::min(first_, matches_.empty() ? 0 : matches_.size() - 1);
  scroll_to_cursor();
}

void PickerModel::set_filter(std::string filter) {
  filter_ = std::move(filter);
  refilter();
}

void PickerModel::type(std::string_view text) {
  filter_.append(text);
  refilter();
}

void PickerModel::backspace() {
  if (filter_.empty()) return;
  std::size_t n = filter_.size() - 1;
  // Step back over UTF-8 continuation bytes (10xxxxxx).
  while (n > 0 && (static_cast<unsigned char>(filter_[n]) & 0xC0) == 0x80) --n;
  filter_.resize(n);
  refilter();
}

void PickerModel::delete_word() {
  std::size_t n = filter_.size();
  while (n > 0 && filter_[n - 1] == ' ') --n;
  while (n > 0 && filter_[n - 1] != ' ') --n;
  filter_.resize(n);
  refilter();
}

void PickerModel::clear_filter() {
  filter_.clear();
  refilter();
}

void PickerModel::up(std::size_t n) {
  cursor_ = cursor_ > n ? cursor_ - n : 0;
  scroll_to_cursor();
}

void PickerModel::down(std::size_t n) {
  if (matches_.empty()) return;
  const std::size_t last = matches_.size() - 1;
  cursor_ = (last - cursor_ > n) ? cursor_ + n : last;
  scroll_to_cursor();
}

void PickerModel::home() {
  cursor_ = 0;
  scroll_to_cursor();
}

void PickerModel::end() {
  cursor_ = matches_.empty() ? 0 : matches_.size() - 1;
  scroll_to_cursor();
}

void PickerModel::set_page_size(std::size_t rows) {
  page_size_ = std::max<std::size_t>(rows, 1);
  scroll_to_cursor();
}

void PickerModel::scroll_to_cursor() {
  if (matches_.empty()) {
    first_ = 0;
    return;
  }
  if (cursor_ < first_) first_ = cursor_;
  if (cursor_ >= first_ + page_size_) first_ = cursor_ + 1 - page_size_;
  // Keep the page full when the list shrank under it.
  if (first_ + page_size_ > matches_.size()) {
    first_ = matches_.size() > page_size_ ? matches_.size() - page_size_ : 0;
  }
}

std::optional<std::size_t> PickerModel::cursor() const {
  if (matches_.empty()) return std::nullopt;
  return cursor_;
}

std::optional<std::size_t> PickerModel::selected() const {
  if (matches_.empty() || cursor_ >= matches_.size()) return std::nullopt;
  return matches_[cursor_];
}

std::size_t PickerModel::visible_count() const {
  return std::min(page_size_, matches_.size() - first_);
}

namespace {

Key make(KeyKind k) {
  Key key;
  key.kind = k;
  return key;
}

// Final byte (and parameter) of CSI / SS3 sequences to a key.
Key decode_sequence(char intro, std::string_view params, char final_byte) {
  switch (final_byte) {
    case 'A':
      return make(KeyKind::up);
    case 'B':
      return make(KeyKind::down);
    case 'H':
      return make(KeyKind::home);
    case 'F':
      return make(KeyKind::end);
    default:
      break;
  }
  if (intro == '[' && final_byte == '~') {
    const std::string_view n = params.substr(0, params.find(';'));
    if (n == "1" || n == "7") return make(KeyKind::home);
    if (n == "4" || n == "8") return make(KeyKind::end);
    if (n == "5") return make(KeyKind::page_up);
    if (n == "6") return make(KeyKind::page_down);
  }
  return make(KeyKind::ignored);
}

}  // namespace

std::vector<Key> KeyDecoder::feed(std::string_view bytes) {
  std::vector<Key> keys;
  pending_.append(bytes);
  std::size_t i = 0;
  const std::string& p = pending_;
  auto push_text = [&](char c) {
    if (!keys.empty() && keys.back().kind == KeyKind::text) {
      keys.back().text.push_back(c);
    } else {
      Key k = make(KeyKind::text);
      k.text.push_back(c);
      keys.push_back(std::move(k));
    }
  };
  while (i < p.size()) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c == 0x1b) {
      if (i + 1 >= p.size()) break;  // wait: Esc alone or the start of a sequence
      const char intro = p[i + 1];
      if (intro != '[' && intro != 'O') {
        // Esc followed by something else (Alt-x, or Esc then a key): Esc cancels.
        keys.push_back(make(KeyKind::cancel));
        i += 1;
        continue;
      }
      // CSI: parameter bytes 0x30-0x3f, intermediates 0x20-0x2f, final 0x40-0x7e.
      std::size_t j = i + 2;
      while (j < p.size() && static_cast<unsigned char>(p[j]) >= 0x20 &&
             static_cast<unsigned char>(p[j]) <= 0x3f) {
        ++j;
      }
      if (j >= p.size()) break;  // incomplete sequence
      const auto fin = static_cast<unsigned char>(p[j]);
      if (fin >= 0x40 && fin <= 0x7e) {
        keys.push_back(decode_sequence(intro, std::string_view(p).substr(i + 2, j - i - 2),
                                       static_cast<char>(fin)));
        i = j + 1;
      } else {
        // Malformed: drop the introducer and carry on with the byte that broke it.
        keys.push_back(make(KeyKind::ignored));
        i = j;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '\r':
      case '\n':
        keys.push_back(make(KeyKind::enter));
        break;
      case 0x03:  // Ctrl-C
      case 0x04:  // Ctrl-D
      case 0x07:  // Ctrl-G
        keys.push_back(make(KeyKind::cancel));
        break;
      case 0x7f:
      case 0x08:
        keys.push_back(make(KeyKind::backspace));
        break;
      case 0x17:
        keys.push_back(make(KeyKind::delete_word));
        break;
      case 0x15:
        keys.push_back(make(KeyKind::clear_line));
        break;
      case 0x10:
        keys.push_back(make(KeyKind::up));
        break;  // Ctrl-P
      case 0x0e:
        keys.push_back(make(KeyKind::down));
        break;  // Ctrl-N
      default:
        if (c >= 0x20) {
          push_text(static_cast<char>(c));
        } else {
          keys.push_back(make(KeyKind::ignored));
        }
    }
  }
  pending_.erase(0, i);
  return keys;
}

std::vector<Key> KeyDecoder::flush() {
  std::vector<Key> keys;
  if (pending_.empty()) return keys;
  // A lone Esc is the Esc key; an unfinished sequence is dropped.
  keys.push_back(make(pending_ == "\x1b" ? KeyKind::cancel : KeyKind::ignored));
  pending_.clear();
  return keys;
}

}  // namespace ecsh::term
