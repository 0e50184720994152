// The seed's gallery example for many servers: connect to each computer, find the program by
// name and end it there — every host at once, each host's result (or failure) as it arrives.
//
// Usage: fanout_terminate NODES USER NAME [CA-FILE]
//   NODES: "host1,host2:5999,…" or "@hosts.txt" (one host a line, # comments); the password
//   comes from LWMI_PASSWORD. Exit status: 0 all ended, 1 some Terminate returned non-zero,
//   3 a host answered with an error, 4 a host could not be reached or refused the login.
#include <lwmi/fanout.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s NODES USER NAME [CA-FILE]  (password in LWMI_PASSWORD)\n",
                 argv[0]);
    return 2;
  }
  auto nodes = lwmi::parse_host_list(argv[1]);
  if (!nodes.ok()) {
    std::fprintf(stderr, "%s\n", nodes.error().message.c_str());
    return 2;
  }
  lwmi::FanoutOptions options;
  options.connect.user = argv[2];
  const char* password = std::getenv("LWMI_PASSWORD");
  options.connect.password = password ? password : "";
  if (argc > 4) options.connect.ca_file = argv[4];
  options.connect.connect_timeout_ms = 5000;
  options.connect.operation_timeout_ms = 30000;
  std::string wql =
      std::string("SELECT Handle, Name FROM Win32_Process WHERE Name = '") + argv[3] + "'";

  // Runs on a worker thread for each host.
  auto terminate_all = [&](lwmi::HostContext& host) -> lwmi::Result<void> {
    auto processes = host.services().exec_query(wql);
    if (!processes.ok()) return processes.take_error();
    lwmi::Instance p;
    while (processes.value()->next(&p)) {
      auto r = host.services().exec_method(p, "Terminate");
      if (!r.ok()) {
        host.error(r.take_error());
        continue;
      }
      ++host.tally.calls;
      ++(r->return_value == 0 ? host.tally.returned_zero : host.tally.returned_nonzero);
    }
    if (processes.value()->error()) return *processes.value()->error();
    return {};
  };
  // Called one at a time, as each host finishes.
  lwmi::FanoutCallbacks callbacks;
  callbacks.on_host = [](const lwmi::HostReport& h, size_t, size_t) {
    if (h.error)
      std::printf("%s: %s: %s\n", h.node.c_str(), lwmi::outcome_name(h.outcome),
                  h.error->to_string().c_str());
    else
      std::printf("%s: %zu ended, %zu not\n", h.node.c_str(), h.tally.returned_zero,
                  h.tally.returned_nonzero);
  };
  auto summary = lwmi::run_fanout(*nodes, options, terminate_all, callbacks);
  switch (summary.worst()) {
    case lwmi::HostOutcome::kOk:
      return 0;
    case lwmi::HostOutcome::kMethodFailed:
      return 1;
    case lwmi::HostOutcome::kFailed:
      return 3;
    default:
      return 4;
  }
}
