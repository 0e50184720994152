// os/bpf_monitor.h — lwmi's BPF programs, loaded: process events captured in the kernel, and the
// exec guard that kills a forbidden program before it returns to user space.
//
// One BpfMonitor per process (lwmid, or the embedded engine when it runs as root): the programs
// are loaded and attached once (tp_btf on sched_process_fork, _exec and _exit) and stay until
// the last reference goes. Events flow only while enabled (set_events); the guard checks rules
// only while any are installed. Records come through a BPF ring buffer; a record the kernel
// could not reserve room for is counted in lost() (each means "rescan /proc").
// Guard rules are keys in a BPF hash map (os/bpf/abi.h); this class only writes them: what a
// rule means and who may install it is the guard's (event/exec_guard.h).
// Rules and programs live as long as this object: when lwmid ends — even by SIGKILL — the
// kernel detaches the programs and frees the maps, so no rule outlives the subscriptions that
// asked for it. A stopped (SIGSTOP) lwmid delays nothing: the programs never wait for it.
// Built without BPF (no clang or bpftool at configure time), load() says so and callers fall
// back to the netlink connector.
// Thread safety: rule and configuration calls may come from any thread; read() from one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lwmi/result.h"
#include "os/proc_events.h"

struct lwmi_rule_key;

namespace lwmi::os {

/// A guard rule's key, as user space builds it (see os/bpf/abi.h).
struct GuardKey {
  enum class Kind : uint32_t { kIdentity = 1, kFileName = 2, kPath = 3, kComm = 4 };
  Kind kind = Kind::kIdentity;
  uint64_t dev = 0, ino = 0;    ///< kIdentity: the file; kPath: its directory
  std::optional<uint32_t> uid;  ///< only processes of this real uid (nullopt: any)
  std::string name;             ///< kFileName, kPath, kComm (at most 255 bytes; comm 15)
  bool operator==(const GuardKey&) const = default;
};

/// What the kernel counted for one rule.
struct GuardRuleState {
  uint64_t blocked = 0;
  bool tripped = false;  ///< its breaker opened: it blocks nothing more
};

class BpfMonitor {
 public:
  /// Loads and attaches the programs: an error saying why not (built without BPF, not
  /// permitted, no kernel BTF, …), for LWMI_EventSource.
  /// ring_bytes: the ring buffer's size (a power of two, at least a page); the default holds
  /// about 3,700 exec records, several seconds of a fork storm between two reads.
  static constexpr uint32_t kDefaultRingBytes = 16u << 20;
  static Result<std::shared_ptr<BpfMonitor>> load(uint32_t ring_bytes = kDefaultRingBytes);
  /// The process's monitor, loaded on first use and kept while anyone holds it.
  static Result<std::shared_ptr<BpfMonitor>> shared();
  ~BpfMonitor();
  BpfMonitor(const BpfMonitor&) = delete;
  BpfMonitor& operator=(const BpfMonitor&) = delete;

  /// Event records on or off (counted: on while any source is started).
  void enable_events();
  void disable_events();
  /// Waits up to timeout_ms (-1: forever) for records; appends them as ProcEvents (fork, exec,
  /// exit; exec and fork with their record). Returns how many were appended. Once a record has
  /// come, it waits kBatchDelay more before it reads, so that a burst is read in one go.
  static constexpr std::chrono::microseconds kBatchDelay{2000};
  Result<size_t> read(std::vector<ProcEvent>* out, int timeout_ms);
  /// Records the kernel could not reserve room for.
  uint64_t lost() const;
  /// The descriptor readable when records wait.
  int fd() const;

  // The guard.
  /// Installs `key` for rule `rule` (replacing what the key had); exempt_session: a process in
  /// this session is never blocked by it (0: none).
  Result<void> add_rule(const GuardKey& key, uint32_t rule, uint32_t exempt_session = 0);
  void remove_rule(const GuardKey& key);
  /// Forgets a rule's kernel counters (after its last key was removed).
  void forget_rule(uint32_t rule);
  GuardRuleState rule_state(uint32_t rule) const;
  /// A file (device, inode) the guard never blocks.
  Result<void> protect(uint64_t dev, uint64_t ino);
  /// Rules allowed or not (off: every exec runs). The check at exec runs only while rules are
  /// installed and allowed.
  void set_guard(bool on);
  /// A rule that blocks more than this many execs in a second trips (0: never).
  void set_breaker(uint32_t per_second);
  /// Keys installed now.
  size_t rule_keys() const;

  struct Impl;

 private:
  explicit BpfMonitor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// A device number as the kernel encodes it in records and rule keys (major << 20 | minor), from
/// st_dev (glibc's encoding differs).
uint64_t kernel_dev(uint64_t st_dev);

/// Fills the abi's key from `k`; false when a name does not fit.
bool encode_guard_key(const GuardKey& k, lwmi_rule_key* out);

/// The path the kernel sent, components leaf first, each NUL-terminated: "/a/b/c".
std::string path_from_parts(const char* data, size_t bytes, uint32_t parts, bool truncated);

/// A ProcEventSource on the process's BpfMonitor: events on while started.
class BpfProcEvents : public ProcEventSource {
 public:
  explicit BpfProcEvents(std::shared_ptr<BpfMonitor> monitor);
  ~BpfProcEvents() override;
  Result<void> start() override;
  Result<size_t> read(std::vector<ProcEvent>* out, int timeout_ms) override;
  uint64_t lost() const override;
  uint64_t overruns() const override { return 0; }
  int fd() const override { return monitor_->fd(); }
  const char* name() const override { return "bpf"; }

 private:
  std::shared_ptr<BpfMonitor> monitor_;
  bool started_ = false;
  uint64_t base_lost_ = 0;
};

}  // namespace lwmi::os
