// The seed's C++ example: call Terminate on an object path, as IWbemServices::ExecMethod does
// with L"Win32_Process.Handle=\"3168\"" and a Reason in-parameter.
//
// Usage: terminate_by_path PID [REASON]   (or a whole object path instead of PID)
#include <lwmi/services.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PID|OBJECT-PATH [REASON]\n", argv[0]);
    return 2;
  }
  std::string path = std::strchr(argv[1], '=')
                         ? std::string(argv[1])
                         : "Win32_Process.Handle=\"" + std::string(argv[1]) + "\"";
  uint32_t reason = argc > 2 ? static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10)) : 0;
  auto services = lwmi::Locator::connect();
  if (!services.ok()) {
    std::fprintf(stderr, "%s\n", services.error().to_string().c_str());
    return 4;
  }
  auto r =
      services.value()->exec_method(path, "Terminate", {{"Reason", lwmi::Value::uint32(reason)}});
  if (!r.ok()) {
    std::fprintf(stderr, "ExecMethod failed: %s\n", r.error().to_string().c_str());
    return 3;
  }
  std::printf("ReturnValue %u (%s)\n", r->return_value, lwmi::return_value_text(r->return_value));
  return r->return_value == 0 ? 0 : 1;
}
