#include "cli/console.h"

#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "cli/exit_status.h"
#include "cli/output.h"
#include "lwmi/fanout.h"

namespace lwmi::cli {

std::string error_text(const Error& e) {
  Error shown = e;
  shown.message = display_text(e.message);
  return shown.to_string();
}

void print_error(const Error& e, std::string_view input) {
  std::cerr << "lwmic: error: " << error_text(e) << '\n';
  if (e.position && !input.empty() && *e.position <= input.size()) {
    std::cerr << "  " << input << '\n' << "  " << std::string(*e.position, ' ') << "^\n";
  }
}

void print_note(std::string_view text) {
  std::cerr << "lwmic: note: " << display_text(text) << '\n';
}

int status_for(const Error& e) {
  // Connection, authentication, certificate and timeout failures, by the Error's kind.
  switch (classify(e)) {
    case HostOutcome::kUnreachable:
    case HostOutcome::kRefused:
    case HostOutcome::kTimedOut:
      return kExitConnection;
    default:
      return kExitWbemError;
  }
}

std::optional<std::string> prompt_password(const std::string& user, const std::string& node) {
  if (!::isatty(STDIN_FILENO)) return std::nullopt;
  termios old{};
  bool restore = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  // The prompt once echo is off (and typed-ahead input dropped), as getpass does: what is
  // typed after it is never shown.
  std::cerr << ("Password for " + user + "@" + node + ": ") << std::flush;  // one write
  std::string line;
  bool ok = static_cast<bool>(std::getline(std::cin, line));
  if (restore) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  if (!ok) return std::nullopt;
  return line;
}

}  // namespace lwmi::cli
