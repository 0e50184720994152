// event/shared_proc_source.h — one kernel process-event source shared by every event stream of
// this process.
//
// Each stream gets a tap: an os::ProcEventSource of its own (so the stream engine is unchanged)
// fed by one reader thread that owns the one inner source (the netlink connector: one socket, one
// receive buffer, however many subscriptions). The inner source is started when the first tap
// opens and stopped (its socket closed) when the last one closes.
// A tap queues at most `tap_queue` events (and, beyond them, every exec the guard blocked: a
// rescan cannot find a killed program); what does not fit is dropped and counted as an
// overrun of that tap alone, so only that slow stream rescans /proc. Loss the inner source sees
// (ENOBUFS, sequence gaps) counts for every tap, so every stream rescans. A tap's lost() and
// overruns() count from the moment it opened.
// A tap's fd() is an eventfd readable while events are queued (or wake() was called).
// Thread safety: SharedProcSource may be used from any thread; a tap belongs to one thread,
// except wake(), which any thread may call.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "lwmi/result.h"
#include "os/proc_events.h"

namespace lwmi::event {

class SharedProcSource {
 public:
  /// Makes the inner source (not started) each time the first tap opens.
  using Factory = std::function<std::unique_ptr<os::ProcEventSource>()>;
  static constexpr size_t kDefaultTapQueue = 16384;

  explicit SharedProcSource(Factory factory, size_t tap_queue = kDefaultTapQueue);
  /// Taps still open keep working until they close (they own the shared state with it).
  ~SharedProcSource();
  SharedProcSource(const SharedProcSource&) = delete;
  SharedProcSource& operator=(const SharedProcSource&) = delete;

  /// The kernel source shared by this process's streams: lwmi's BPF programs where they load
  /// (root), else the netlink connector. Why BPF could not be used is kept in LWMI_EventSource.
  static SharedProcSource& global();
  /// The netlink connector alone (LWMI_EVENT_SOURCE=netlink, and comparisons in tests).
  static SharedProcSource& netlink();

  /// A new tap, already started: the inner source's start() error when it cannot be started
  /// (then nothing stays open), or the error that stopped its reader when taps remain open.
  Result<std::unique_ptr<os::ProcEventSource>> open();
  /// Taps open now.
  size_t taps() const;
  /// True while the inner source is started (from the first tap's open to the last's close).
  bool running() const;
  /// Times the inner source was started.
  uint64_t starts() const;

  struct Core;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace lwmi::event
