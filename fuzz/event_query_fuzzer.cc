// event_query_fuzzer.cc — libFuzzer target for event::compile_event_query(). Any input must
// either compile into a query that asks for at least one kind of event, with a filter, or fail
// with one of the documented codes and a position inside the text; a compiled query's filter is
// then evaluated on an all-NULL event, which must not crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "event/event_query.h"

namespace {

using lwmi::WbemStatus;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto q = lwmi::event::compile_event_query(text);
  if (!q.ok()) {
    const lwmi::Error& e = q.error();
    switch (e.code) {
      case WbemStatus::kInvalidQuery:
      case WbemStatus::kQuotaViolation:
      case WbemStatus::kClassNameTooWide:
      case WbemStatus::kPropertyNameTooWide:
      case WbemStatus::kMissingGroupWithin:
      case WbemStatus::kInvalidClass:
      case WbemStatus::kNotEventClass:
      case WbemStatus::kNotSupported:
      case WbemStatus::kRegistrationTooPrecise:
      case WbemStatus::kPropertyNotAnObject:
      case WbemStatus::kAggregatingByObject:
      case WbemStatus::kInvalidOperator:
      case WbemStatus::kTypeMismatch:
      case WbemStatus::kInvalidProperty:
        break;
      default:
        check(false);
    }
    check(e.position.has_value() && *e.position <= size);
    return 0;
  }
  check(q->creation || q->deletion || q->modification || q->start_trace || q->stop_trace);
  check(q->filter != nullptr);
  check(!q->modification || q->within.has_value());
  check(!q->within || *q->within >= 0.1);
  const auto& cls = *q->filter->concrete;
  (void)lwmi::wql::matches(*q->filter, [&](size_t i) {
    if (i >= cls.properties.size()) return lwmi::Value();
    return lwmi::Value::null(cls.properties[i].type, cls.properties[i].is_array);
  });
  (void)lwmi::event::having_passes(*q, static_cast<uint32_t>(size));
  return 0;
}
