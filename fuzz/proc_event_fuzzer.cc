// proc_event_fuzzer.cc — libFuzzer target for the process-connector parsers. Any input must
// either be rejected or parse into events whose fields stay within what the bytes can say: a
// comm of at most 16 bytes, and a datagram yields no more events than it has room for.
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "os/proc_events.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void check_event(const lwmi::os::ProcEvent& ev) {
  check(ev.comm.size() <= 16);
  if (ev.kind != lwmi::os::ProcEvent::Kind::kComm) check(ev.comm.empty());
  check(lwmi::os::proc_event_kind_name(ev.kind) != nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The input as the data of one cn_msg…
  if (auto ev = lwmi::os::parse_proc_event(data, size)) check_event(*ev);
  // …and as a whole datagram.
  std::vector<lwmi::os::ProcMessage> messages;
  if (lwmi::os::parse_proc_datagram(data, size, &messages)) {
    check(messages.size() <= size / (NLMSG_HDRLEN + sizeof(cn_msg) + 16 + 4));
    for (const auto& m : messages) check_event(m.event);
  } else {
    check(messages.empty());
  }
  return 0;
}
