// The seed's first example: find every process with a given name and end each one.
//
//   Set colProcessList = objWMIService.ExecQuery("SELECT * FROM Win32_Process WHERE Name = …")
//   For Each objProcess in colProcessList : objProcess.Terminate() : Next
//
// Usage: terminate_by_name NAME
#include <lwmi/services.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s NAME\n", argv[0]);
    return 2;
  }
  auto services = lwmi::Locator::connect();  // strComputer = "."
  if (!services.ok()) {
    std::fprintf(stderr, "%s\n", services.error().to_string().c_str());
    return 4;
  }
  std::string wql = std::string("SELECT * FROM Win32_Process WHERE Name = '") + argv[1] + "'";
  auto processes = services.value()->exec_query(wql);
  if (!processes.ok()) {
    std::fprintf(stderr, "%s\n", processes.error().to_string().c_str());
    return 3;
  }
  lwmi::Instance process;
  int failures = 0;
  while (processes.value()->next(&process)) {
    // The instance keeps its identity (pid and start time): a reused pid is never hit.
    auto r = services.value()->exec_method(process, "Terminate");
    std::printf("%s %s: %s\n", process.get("ProcessId")->to_text().c_str(),
                process.get("Name")->to_text().c_str(),
                r.ok() ? lwmi::return_value_text(r->return_value) : r.error().to_string().c_str());
    if (!r.ok() || r->return_value != 0) ++failures;
  }
  return failures ? 1 : 0;
}
