#include "ecsh/connect/session_ending.hpp"

#include "ecsh/common/strings.hpp"
#include "ecsh/session/ending.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <charconv>

namespace ecsh::connect {

std::string format_duration(std::chrono::steady_clock::duration d) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 0) s = 0;
  if (s < 60) return fmt::format("{} s", s);
  auto m = (s + 30) / 60;  // to the nearest minute
  if (m < 60) return fmt::format("{} min", m);
  if (m % 60 == 0) return fmt::format("{} h", m / 60);
  return fmt::format("{} h {:02} min", m / 60, m % 60);
}

std::optional<Error> service_ending(const SessionEnd& end, const EndingAdvice& advice) {
  if (!end.channel_closed) return std::nullopt;
  switch (session::closed_by(end.output)) {
    case session::ClosedBy::idle_timeout:
      return Error::session_ended(SessionEnding::idle_timeout,
                                  "session ended by Session Manager after " +
                                      format_duration(end.since_input) +
                                      " without input (idle timeout)",
                                  std::string(advice.idle_timeout));
    case session::ClosedBy::max_duration:
      return Error::session_ended(
          SessionEnding::max_duration,
          "session ended by Session Manager at its maximum session duration, after " +
              format_duration(end.lasted),
          "Start a new session; the limit is the account's Session Manager preference "
          "(maxSessionDuration).");
    case session::ClosedBy::peer:
      break;
  }
  return std::nullopt;
}

std::optional<std::chrono::minutes> max_session_duration_of(std::string_view content) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(content, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  auto* inputs = doc.as_object().if_contains("inputs");
  if (!inputs || !inputs->is_object()) return std::nullopt;
  auto* value = inputs->as_object().if_contains("maxSessionDuration");
  if (!value || !value->is_string()) return std::nullopt;
  std::string_view text = value->as_string();
  int minutes = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), minutes);
  // The console accepts 1 to 1440 minutes.
  if (err != std::errc() || end != text.data() + text.size() || minutes < 1 || minutes > 1440) {
    return std::nullopt;
  }
  return std::chrono::minutes(minutes);
}

std::string max_duration_warning(std::chrono::minutes limit,
                                 std::chrono::steady_clock::duration left) {
  return "ecsh: Session Manager ends this session in " + format_duration(left) +
         " (its maximum session duration, " + format_duration(limit) +
         "); save your work, then start a new one.";
}

Error resume_failure(const Error& e) {
  std::string code = str::to_lower(e.code);
  std::string message = str::to_lower(e.message);
  if (code.find("expired") != std::string::npos ||
      message.find("token included in the request is expired") != std::string::npos) {
    return Error::config(
        "the session's link dropped and could not be resumed: your AWS credentials expired "
        "during the session (" +
            (e.code.empty() ? e.message : e.code) + ")",
        "Renew them (aws sso login, or your profile's credential source) and run the command "
        "again.");
  }
  Error out = e;
  out.message = "the session's link dropped and could not be resumed: " + e.message;
  return out;
}

Error ended_while_reconnecting() {
  return Error::session_ended(SessionEnding::unexplained,
                              "the session ended while its dropped link was being resumed",
                              "Run the command again.");
}

}  // namespace ecsh::connect
