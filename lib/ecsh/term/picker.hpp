#pragma once

// Interactive list chooser on the terminal (/dev/tty, so stdout may be a pipe): type to filter
// (see picker_model.hpp), Up/Down (Ctrl-P/Ctrl-N), PageUp/PageDown, Home/End, Enter chooses,
// Esc/Ctrl-C/Ctrl-D cancels. It draws below the cursor line with plain ANSI sequences, in raw
// mode (RawModeGuard), and erases every line it used before returning; call it at the start of
// a line. Follows window resizes.

#include "ecsh/common/error.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::term {

struct PickerOptions {
  // false for --no-color; NO_COLOR set to a non-empty value in the environment also turns
  // colour off. Without colour the selection is shown by the "> " marker alone.
  bool color = true;
  std::size_t max_rows = 10;  // item rows shown at most (fewer on a short terminal)
  std::string tty_path = "/dev/tty";
};

// Colour allowed: the flag says yes and NO_COLOR is unset or empty.
bool color_allowed(bool color_flag);

// Index into items of the chosen one; nullopt when cancelled. An Error (ErrorKind::usage) when
// there is no terminal to ask on, or items is empty.
Result<std::optional<std::size_t>> pick(std::string_view title, std::vector<std::string> items,
                                        const PickerOptions& options);

}  // namespace ecsh::term
