// subscriptions_fuzzer.cc — libFuzzer target: what permanent subscriptions parse must answer with
// definitions or an Error, never crash, hang or throw. The first byte picks the parser: the store
// file (JSON), a subscriptions.d file (TOML), or a template (checked, then expanded as a log line
// and as a command line against an event). An error always names its source.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "cim/schema.h"
#include "permanent/definitions_io.h"
#include "permanent/template.h"

namespace {

lwmi::Instance sample_event() {
  using lwmi::Value;
  auto process =
      std::make_shared<lwmi::Instance>(lwmi::cim::Schema::builtin().find("Win32_Process"));
  process->set("Name", Value::string("evil \"x\" $(id)\n"));
  process->set("ProcessId", Value::uint32(4242));
  lwmi::Instance event(lwmi::cim::Schema::builtin().find("__InstanceCreationEvent"));
  event.set("TargetInstance", Value::object(process));
  return event;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t which = data[0] % 3;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (which == 0) {
    auto d = lwmi::permanent::decode_store(text, "fuzz.json");
    if (!d.ok() && d.error().message.rfind("fuzz.json", 0) != 0) std::abort();
    if (d.ok()) {
      // What decodes encodes again (its strings are UTF-8) and decodes to as much.
      auto again = lwmi::permanent::encode_store(*d);
      if (!again.ok()) std::abort();
      auto back = lwmi::permanent::decode_store(*again, "again.json");
      if (!back.ok() || back->filters.size() != d->filters.size() ||
          back->consumers.size() != d->consumers.size() ||
          back->bindings.size() != d->bindings.size())
        std::abort();
    }
  } else if (which == 1) {
    auto d = lwmi::permanent::parse_subscription_file(text, "fuzz.toml");
    if (!d.ok() && d.error().message.rfind("fuzz.toml", 0) != 0) std::abort();
  } else {
    static const lwmi::Instance event = sample_event();
    const bool valid = lwmi::permanent::check_template(text).ok();
    auto line = lwmi::permanent::expand_line(text, event);
    auto args = lwmi::permanent::expand_arguments(text, event);
    if (valid != line.ok() || valid != args.ok()) std::abort();
    if (line.ok() && line->find('\n') != std::string::npos && text.find('\n') == std::string::npos)
      std::abort();  // a value added a line
  }
  return 0;
}
