// os/proc_events.h — the kernel process-event seam: fork, exec, exit… as they happen.
//
// The live source is the netlink process connector (CONFIG_PROC_EVENTS). Netlink is unreliable by
// definition: when the receive buffer fills the kernel drops messages and tells the listener once
// with ENOBUFS; under memory pressure it also drops messages for every listener without a word.
// Loss is therefore reported, never hidden: overruns() counts the ENOBUFS seen and lost() counts
// the events known to be missing from gaps in the kernel's per-CPU sequence numbers.
// After either grows the caller rescans /proc. Events cover threads too (ProcEvent::is_thread()).
// The parsers are pure functions of bytes so that tests and the fuzzer can feed them anything.
// Thread safety: a ProcEventSource belongs to one thread; the parsers are reentrant.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "lwmi/result.h"
#include "os/descriptors.h"
#include "os/proc_fs.h"

namespace lwmi::os {

/// What a kernel source that captures in the kernel (BPF) knew of a process at the moment of its
/// fork or exec: enough to describe a process that ended before /proc could be read.
struct ProcessRecord {
  uint64_t start_ns = 0;  ///< its start, CLOCK_BOOTTIME ns (stat's starttime is this in ticks)
  int32_t ppid = 0;       ///< its real parent's process id
  uint32_t uid = 0, euid = 0, suid = 0, gid = 0, egid = 0;
  std::string comm;
  std::string exe;             ///< the executable's path as the kernel resolved it ("" unknown)
  bool exe_truncated = false;  ///< deeper than the kernel side walks: exe is only a tail
  uint64_t dev = 0, ino = 0;   ///< the executable's device (kernel encoding) and inode
  std::vector<std::string> argv;
  bool argv_truncated = false;
  uint64_t cgroup_id = 0;
};

/// One process event. pid/tgid name the task the event is about (for kFork: the child).
struct ProcEvent {
  enum class Kind { kFork, kExec, kExit, kUid, kGid, kSid, kComm, kPtrace, kCoredump, kNone };
  Kind kind = Kind::kNone;
  uint32_t cpu = 0;           ///< the CPU that sent it (sequence numbers are per CPU)
  uint64_t timestamp_ns = 0;  ///< since boot (CLOCK_MONOTONIC), from the event
  int32_t pid = 0, tgid = 0;  ///< thread id and process id
  /// kFork, kExit, kCoredump: the real parent (0 when the kernel does not say) — for a new
  /// thread that is its process's parent, not the thread that created it; kPtrace: the tracer
  /// (0 when detaching).
  int32_t parent_pid = 0, parent_tgid = 0;
  uint32_t exit_code = 0;    ///< kExit: the wait status, e.g. (3 << 8) for exit(3), 9 for SIGKILL
  uint32_t exit_signal = 0;  ///< kExit: the signal sent to the parent (SIGCHLD; ~0u for a thread)
  uint32_t ruid = 0, euid = 0;  ///< kUid: real and effective uid; kGid: real and effective gid
  std::string comm;             ///< kComm: the new name (at most 15 bytes)
  uint32_t err = 0;             ///< kNone (an acknowledgement of LISTEN/IGNORE): its errno
  /// kFork, kExec from a source that captures in the kernel: the process as it was then.
  std::shared_ptr<const ProcessRecord> record;
  /// kExec: the exec guard killed it before it returned to user space (blocked_rule says which
  /// rule); `breaker`: a rule matched but its breaker had tripped, so it ran.
  bool blocked = false, breaker = false;
  uint32_t blocked_rule = 0;
  /// A thread rather than a process (fork: child pid != child tgid; exit: pid != tgid).
  bool is_thread() const { return pid != tgid; }
};

/// "fork", "exec", "exit", "uid", "gid", "sid", "comm", "ptrace", "coredump", "none".
const char* proc_event_kind_name(ProcEvent::Kind kind);

/// Parses a struct proc_event (the data of a cn_msg, `len` bytes). nullopt when the buffer is too
/// short for the event's kind or the kind is unknown. Longer buffers (newer kernels) are accepted.
std::optional<ProcEvent> parse_proc_event(const void* data, size_t len);

/// A process-connector message: the event with the cn_msg header's sequence numbers.
struct ProcMessage {
  uint32_t seq = 0;  ///< per-CPU counter for events; the LISTEN's seq for an acknowledgement
  uint32_t ack = 0;  ///< 0 for events; the LISTEN's ack + 1 for an acknowledgement
  ProcEvent event;
};

/// Parses one datagram read from the connector socket: netlink messages, each a cn_msg. Appends
/// the process events it carries to *out; messages for other connector ids are skipped. Returns
/// false (appending nothing) when any length field points outside the datagram or disagrees with
/// the one around it, or when an event cannot be parsed.
bool parse_proc_datagram(const void* data, size_t len, std::vector<ProcMessage>* out);

/// Counts events missing from the per-CPU sequence numbers of the messages it is shown.
class SequenceGaps {
 public:
  /// Notes one event's (cpu, seq); returns how many events from that CPU were skipped before it.
  /// The first event from a CPU, a repeat and a step backwards count nothing.
  uint64_t observe(uint32_t cpu, uint32_t seq);
  /// True when (cpu, seq) is the last event seen from that CPU: the same message again.
  bool is_repeat(uint32_t cpu, uint32_t seq) const {
    auto it = last_.find(cpu);
    return it != last_.end() && it->second == seq;
  }

 private:
  std::unordered_map<uint32_t, uint32_t> last_;
};

/// A source of process events (the netlink connector now; a BPF ring buffer later; fakes in tests).
class ProcEventSource {
 public:
  virtual ~ProcEventSource() = default;
  /// Subscribes. Events that happen before start() returns may be missed.
  virtual Result<void> start() = 0;
  /// Waits up to timeout_ms (-1: forever) for events and appends them to *out; returns how many
  /// were appended: 0 on timeout. Loss shows in lost() and overruns(), not here.
  virtual Result<size_t> read(std::vector<ProcEvent>* out, int timeout_ms) = 0;
  /// Events known to be lost (gaps in the kernel's per-CPU sequence numbers); a lower bound. It
  /// also catches what ENOBUFS does not: a message the kernel could not allocate, lost for all.
  virtual uint64_t lost() const = 0;
  /// Receive-buffer overruns (ENOBUFS) seen: each means "rescan /proc".
  virtual uint64_t overruns() const = 0;
  /// The descriptor to poll for readability (-1 before start()), for an event loop.
  virtual int fd() const = 0;
  /// "netlink", "proc-poll", … for statistics and messages.
  virtual const char* name() const { return "netlink"; }
  /// True when exit events carry the exit status (the connector's do; /proc polling's do not).
  virtual bool has_exit_status() const { return true; }
  /// Makes a read() blocked in another thread return at once (0 events when none came). Any
  /// thread may call it; a source that cannot be woken waits out its timeout.
  virtual void wake() {}
};

/// The netlink process connector: PROC_CN_MCAST_LISTEN on a NETLINK_CONNECTOR socket.
class NetlinkProcEvents : public ProcEventSource {
 public:
  static constexpr size_t kDefaultBufferBytes = size_t{64} << 20;
  /// buffer_bytes: the receive buffer asked for. With force_buffer, SO_RCVBUFFORCE is tried first
  /// (root: past rmem_max); otherwise, or when refused, SO_RCVBUF (clamped by rmem_max).
  explicit NetlinkProcEvents(size_t buffer_bytes = kDefaultBufferBytes, bool force_buffer = true);
  ~NetlinkProcEvents() override;  ///< stop()
  NetlinkProcEvents(const NetlinkProcEvents&) = delete;
  NetlinkProcEvents& operator=(const NetlinkProcEvents&) = delete;

  Result<void> start() override;
  /// Sends PROC_CN_MCAST_IGNORE and closes the socket; start() may be called again.
  void stop();
  Result<size_t> read(std::vector<ProcEvent>* out, int timeout_ms) override;
  uint64_t lost() const override { return lost_; }
  uint64_t overruns() const override { return overruns_; }
  int fd() const override { return fd_.get(); }

  /// The effective receive buffer (getsockopt SO_RCVBUF: the kernel doubles what was asked).
  size_t receive_buffer() const { return receive_buffer_; }
  /// Whether SO_RCVBUFFORCE was accepted.
  bool buffer_forced() const { return buffer_forced_; }
  /// Datagrams dropped as not from the kernel, malformed or of an unknown event kind.
  uint64_t ignored() const { return ignored_; }

 private:
  int send_op(uint32_t op);  ///< 0 or errno
  Result<void> fail(const char* what, int err);

  size_t buffer_bytes_;
  bool force_buffer_;
  Fd fd_;
  bool listening_ = false;
  uint32_t port_ = 0;  ///< our netlink port id, also the LISTEN's sequence number
  size_t receive_buffer_ = 0;
  bool buffer_forced_ = false;
  uint64_t lost_ = 0;
  uint64_t overruns_ = 0;
  uint64_t ignored_ = 0;
  SequenceGaps gaps_;
};

/// The fallback when the connector is unavailable (not permitted, not built in): /proc scanned
/// every `interval_ms`, differences reported as events. A new (pid, start time) is a kExec, a
/// vanished one a kExit (exit_code 0, unknown: see has_exit_status()); a pid reused between two
/// scans gives both. Processes that start and end between two scans are never seen, and later
/// execs are not seen as such. Nothing is ever counted lost.
class ProcPollEvents : public ProcEventSource {
 public:
  explicit ProcPollEvents(ProcFs fs, int interval_ms = 1000);
  ~ProcPollEvents() override;
  ProcPollEvents(const ProcPollEvents&) = delete;
  ProcPollEvents& operator=(const ProcPollEvents&) = delete;
  Result<void> start() override;
  Result<size_t> read(std::vector<ProcEvent>* out, int timeout_ms) override;
  uint64_t lost() const override { return 0; }
  uint64_t overruns() const override { return 0; }
  int fd() const override { return -1; }
  const char* name() const override { return "proc-poll"; }
  bool has_exit_status() const override { return false; }
  void wake() override;
  /// Scans made so far.
  uint64_t scans() const { return scans_; }

 private:
  void scan(std::unordered_map<int32_t, uint64_t>* out) const;
  /// Sleeps up to ms, less when woken; true when woken.
  bool sleep(int64_t ms);

  ProcFs fs_;
  Fd wake_fd_;  ///< an eventfd wake() signals
  int interval_ms_;
  bool started_ = false;
  std::unordered_map<int32_t, uint64_t> known_;  ///< pid -> start ticks
  std::chrono::steady_clock::time_point next_scan_;
  uint64_t scans_ = 0;
};

}  // namespace lwmi::os
