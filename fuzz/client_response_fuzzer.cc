// client_response_fuzzer.cc — libFuzzer target for the client side of the WS-Man codec: what a
// server (or anything posing as one) answers. Every parser must give a value or an Error with a
// message, never crash: faults, Get/Enumerate/Pull/Invoke/Identify responses, and the eventing
// ones (SubscribeResponse, heartbeats). Seeds are lwmid's own answers (corpus/client_response).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wsman/client_codec.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

template <class R>
void must_explain(const R& r) {
  if (!r.ok()) check(!r.error().message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace wc = lwmi::wsman::client;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  if (auto f = wc::fault_of(body)) check(!f->message.empty());
  must_explain(wc::parse_get_response(body));
  auto page = wc::parse_enumeration_response(body);
  must_explain(page);
  if (page.ok() && page->context.empty()) check(page->end_of_sequence);
  must_explain(wc::parse_invoke_response(body, "Win32_Process", "Terminate"));
  must_explain(wc::parse_empty_response(body));
  must_explain(wc::parse_identify_response(body));
  auto sub = wc::parse_subscribe_response(body);
  must_explain(sub);
  if (sub.ok()) check(!sub->context.empty());
  (void)wc::is_heartbeat(body);
  return 0;
}
