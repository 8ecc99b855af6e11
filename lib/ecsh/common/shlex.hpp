#pragma once

// Command-line splitting as the SSM agent does it in container mode (github.com/google/shlex),
// and the quoting that survives it. ECS Exec hands the agent one command string; the agent splits
// it with google/shlex and execs the result directly, without a shell.

#include "ecsh/common/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ecsh::shlex {

// google/shlex semantics: whitespace separates words; '...' is literal; "..." takes a backslash
// before ANY character as an escape (unlike POSIX); a backslash outside quotes escapes the next
// character; '#' at the start of a word starts a comment up to the end of the line. Unterminated
// quotes or a trailing backslash are errors.
Result<std::vector<std::string>> split(std::string_view command);

// Python's shlex.split (POSIX mode, no comments), which botocore uses to split a profile's
// credential_process before running it without a shell: whitespace separates words; '...' is
// literal; in "..." a backslash escapes only a double quote or a backslash (before any other
// character it stays); a backslash outside quotes escapes the next character; '#', '$', '|', ';',
// '>' and the like are ordinary characters. Unterminated quotes or a trailing backslash are
// errors.
Result<std::vector<std::string>> split_posix(std::string_view command);

// Single-quotes a word for POSIX sh and for google/shlex alike: 'it'\''s'.
std::string quote(std::string_view word);

// Quotes and joins words so that split(join(words)) == words.
std::string join(const std::vector<std::string>& words);

}  // namespace ecsh::shlex
