// The seed's remote example: connect to another computer with a user name and password and end
// a program there (ConnectServer(strComputer, "root\cimv2", user, password) → ExecQuery →
// Terminate).
//
// Usage: remote_terminate NODE USER NAME [CA-FILE]   (the password comes from LWMI_PASSWORD)
#include <lwmi/services.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s NODE USER NAME [CA-FILE]  (password in LWMI_PASSWORD)\n",
                 argv[0]);
    return 2;
  }
  lwmi::ConnectOptions options;
  options.node = argv[1];
  options.user = argv[2];
  const char* password = std::getenv("LWMI_PASSWORD");
  options.password = password ? password : "";
  if (argc > 4) options.ca_file = argv[4];
  auto services = lwmi::Locator::connect(options);
  if (!services.ok()) {
    std::fprintf(stderr, "%s\n", services.error().to_string().c_str());
    return 4;
  }
  auto processes = services.value()->exec_query(
      std::string("SELECT Handle, Name FROM Win32_Process WHERE Name = '") + argv[3] + "'");
  if (!processes.ok()) {
    std::fprintf(stderr, "%s\n", processes.error().to_string().c_str());
    return 3;
  }
  lwmi::Instance p;
  int failures = 0;
  while (processes.value()->next(&p)) {
    auto r = services.value()->exec_method(p, "Terminate");
    std::printf("%s: %s\n", p.get("Handle")->to_text().c_str(),
                r.ok() ? lwmi::return_value_text(r->return_value) : r.error().to_string().c_str());
    if (!r.ok() || r->return_value != 0) ++failures;
  }
  if (processes.value()->error()) {
    std::fprintf(stderr, "%s\n", processes.value()->error()->to_string().c_str());
    return 3;
  }
  return failures ? 1 : 0;
}
