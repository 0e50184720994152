// The seed's second example: a temporary event consumer that ends a program as soon as it starts.
//
//   Set colMonitoredProcesses = objWMIService.ExecNotificationQuery("SELECT * FROM
//       __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Process'")
//   Do : Set objLatestProcess = colMonitoredProcesses.NextEvent
//        If objLatestProcess.TargetInstance.Name = "Download.exe" Then
//          objLatestProcess.TargetInstance.Terminate() : End If : Loop
//
// Usage: watch_and_terminate NAME [COUNT]   (stops after COUNT terminations; default: never)
#include <lwmi/services.h>

#include <strings.h>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s NAME [COUNT]\n", argv[0]);
    return 2;
  }
  long count = argc > 2 ? std::atol(argv[2]) : -1;
  auto services = lwmi::Locator::connect();
  if (!services.ok()) {
    std::fprintf(stderr, "%s\n", services.error().to_string().c_str());
    return 4;
  }
  auto events = services.value()->exec_notification_query(
      "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Process'");
  if (!events.ok()) {
    std::fprintf(stderr, "%s\n", events.error().to_string().c_str());
    return 3;
  }
  std::fprintf(stderr, "watching for %s\n", argv[1]);
  while (count != 0) {
    lwmi::Instance event;
    auto got = events.value()->next(&event, -1);  // NextEvent
    if (!got.ok()) {
      std::fprintf(stderr, "%s\n", got.error().to_string().c_str());
      return 3;
    }
    const lwmi::Instance& target = *event.get("TargetInstance")->as_object();
    auto name = target.get("Name");
    if (!name || name->is_null() || strcasecmp(name->as_string().c_str(), argv[1]) != 0) continue;
    auto r = services.value()->exec_method(target, "Terminate");
    std::printf("terminated %s (%s): %s\n", target.get("ProcessId")->to_text().c_str(),
                name->as_string().c_str(),
                r.ok() ? lwmi::return_value_text(r->return_value) : r.error().to_string().c_str());
    std::fflush(stdout);
    if (count > 0) --count;
  }
  return 0;
}
