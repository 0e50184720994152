// provider/process/command_line.cc — CommandLineToArgvW-style splitting (see command_line.h).
#include "provider/process/command_line.h"

namespace lwmi::provider::process {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

std::optional<std::vector<std::string>> parse_windows_command_line(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  // Leading blanks are skipped (CommandLineToArgvW would make an empty argv[0] of them; a
  // command line given to Create is more useful read as the program that follows).
  while (i < n && is_blank(text[i])) ++i;
  if (i == n) return std::nullopt;

  std::vector<std::string> argv;

  // argv[0], the program: quotes toggle quoting and are dropped, backslashes are literal,
  // a blank outside quotes ends it.
  {
    std::string arg;
    bool quoted = false;
    for (; i < n; ++i) {
      char c = text[i];
      if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && is_blank(c)) {
        break;
      } else {
        arg += c;
      }
    }
    if (quoted) return std::nullopt;
    argv.push_back(std::move(arg));
  }

  // The arguments.
  for (;;) {
    while (i < n && is_blank(text[i])) ++i;
    if (i == n) break;
    std::string arg;
    bool quoted = false;
    while (i < n) {
      size_t backslashes = 0;
      while (i < n && text[i] == '\\') {
        ++backslashes;
        ++i;
      }
      if (i < n && text[i] == '"') {
        arg.append(backslashes / 2, '\\');
        if (backslashes % 2 == 1) {
          arg += '"';  // 2n+1 backslashes: a literal quote
        } else if (quoted && i + 1 < n && text[i + 1] == '"') {
          arg += '"';  // "" inside quotes: a literal quote, still quoted (post-2008 msvcrt)
          ++i;
        } else {
          quoted = !quoted;
        }
        ++i;
        continue;
      }
      arg.append(backslashes, '\\');  // not before a quote: literal
      if (i == n) break;
      char c = text[i];
      if (!quoted && is_blank(c)) break;
      arg += c;
      ++i;
    }
    if (quoted) return std::nullopt;
    argv.push_back(std::move(arg));
  }
  return argv;
}

}  // namespace lwmi::provider::process
