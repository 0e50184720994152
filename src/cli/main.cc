// lwmic — the lwmi command-line client: reads the command line (cli/options.h) and runs its
// verb (cli/verbs.h).
#include <string>
#include <variant>
#include <vector>

#include "cli/options.h"

int main(int argc, char** argv) {
  auto parsed = lwmi::cli::parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
  if (auto* status = std::get_if<int>(&parsed)) return *status;
  const auto& inv = std::get<lwmi::cli::Invocation>(parsed);
  return inv.run(inv);
}
