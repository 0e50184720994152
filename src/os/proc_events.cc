// os/proc_events.cc — the netlink process connector: parsers and the live source.
#include "os/proc_events.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

#include "os/pid_namespace.h"

namespace lwmi::os {
namespace {

// struct proc_event: what (u32), cpu (u32), timestamp_ns (u64), then the union of event data.
constexpr size_t kEventHeader = 16;
static_assert(offsetof(proc_event, event_data) == kEventHeader);
static_assert(offsetof(proc_event, timestamp_ns) == 8);

// At most this many datagrams per read(), so a fork storm cannot keep one call busy forever.
constexpr int kMaxDatagramsPerRead = 4096;

template <class T>
T load(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

int32_t load_pid(const unsigned char* data, size_t offset) {
  return load<int32_t>(data + kEventHeader + offset);
}

// The bytes of event data each kind needs (beyond the header).
std::optional<size_t> needed(uint32_t what) {
  switch (what) {
    case proc_event::PROC_EVENT_NONE:
      return sizeof(proc_event::event_data.ack);
    case proc_event::PROC_EVENT_FORK:
      return sizeof(proc_event::event_data.fork);
    case proc_event::PROC_EVENT_EXEC:
      return sizeof(proc_event::event_data.exec);
    case proc_event::PROC_EVENT_UID:
    case proc_event::PROC_EVENT_GID:
      return sizeof(proc_event::event_data.id);
    case proc_event::PROC_EVENT_SID:
      return sizeof(proc_event::event_data.sid);
    case proc_event::PROC_EVENT_PTRACE:
      return sizeof(proc_event::event_data.ptrace);
    case proc_event::PROC_EVENT_COMM:
      return sizeof(proc_event::event_data.comm);
    // Kernels before 4.x sent no parent in coredump and exit events: pid, tgid (+ code, signal).
    case proc_event::PROC_EVENT_COREDUMP:
      return 8;
    case proc_event::PROC_EVENT_EXIT:
      return 16;
    default:
      return std::nullopt;
  }
}

}  // namespace

const char* proc_event_kind_name(ProcEvent::Kind kind) {
  switch (kind) {
    case ProcEvent::Kind::kFork:
      return "fork";
    case ProcEvent::Kind::kExec:
      return "exec";
    case ProcEvent::Kind::kExit:
      return "exit";
    case ProcEvent::Kind::kUid:
      return "uid";
    case ProcEvent::Kind::kGid:
      return "gid";
    case ProcEvent::Kind::kSid:
      return "sid";
    case ProcEvent::Kind::kComm:
      return "comm";
    case ProcEvent::Kind::kPtrace:
      return "ptrace";
    case ProcEvent::Kind::kCoredump:
      return "coredump";
    case ProcEvent::Kind::kNone:
      return "none";
  }
  return "none";
}

std::optional<ProcEvent> parse_proc_event(const void* data, size_t len) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (p == nullptr || len < kEventHeader) return std::nullopt;
  const uint32_t what = load<uint32_t>(p);
  std::optional<size_t> need = needed(what);
  if (!need || len - kEventHeader < *need) return std::nullopt;
  const size_t have = len - kEventHeader;

  ProcEvent ev;
  ev.cpu = load<uint32_t>(p + 4);
  ev.timestamp_ns = load<uint64_t>(p + 8);
  const unsigned char* d = p + kEventHeader;
  switch (what) {
    case proc_event::PROC_EVENT_NONE:
      ev.kind = ProcEvent::Kind::kNone;
      ev.err = load<uint32_t>(d);
      return ev;
    case proc_event::PROC_EVENT_FORK:
      ev.kind = ProcEvent::Kind::kFork;
      ev.parent_pid = load_pid(p, 0);
      ev.parent_tgid = load_pid(p, 4);
      ev.pid = load_pid(p, 8);
      ev.tgid = load_pid(p, 12);
      return ev;
    case proc_event::PROC_EVENT_EXEC:
      ev.kind = ProcEvent::Kind::kExec;
      break;
    case proc_event::PROC_EVENT_UID:
      ev.kind = ProcEvent::Kind::kUid;
      break;
    case proc_event::PROC_EVENT_GID:
      ev.kind = ProcEvent::Kind::kGid;
      break;
    case proc_event::PROC_EVENT_SID:
      ev.kind = ProcEvent::Kind::kSid;
      break;
    case proc_event::PROC_EVENT_PTRACE:
      ev.kind = ProcEvent::Kind::kPtrace;
      break;
    case proc_event::PROC_EVENT_COMM:
      ev.kind = ProcEvent::Kind::kComm;
      break;
    case proc_event::PROC_EVENT_COREDUMP:
      ev.kind = ProcEvent::Kind::kCoredump;
      break;
    case proc_event::PROC_EVENT_EXIT:
      ev.kind = ProcEvent::Kind::kExit;
      break;
  }
  // Every other kind starts with the task's pid and tgid.
  ev.pid = load_pid(p, 0);
  ev.tgid = load_pid(p, 4);
  switch (ev.kind) {
    case ProcEvent::Kind::kUid:
    case ProcEvent::Kind::kGid:
      ev.ruid = load<uint32_t>(d + 8);
      ev.euid = load<uint32_t>(d + 12);
      break;
    case ProcEvent::Kind::kPtrace:
      ev.parent_pid = load_pid(p, 8);
      ev.parent_tgid = load_pid(p, 12);
      break;
    case ProcEvent::Kind::kComm: {
      const char* comm = reinterpret_cast<const char*>(d + 8);
      ev.comm.assign(comm, strnlen(comm, sizeof(proc_event::event_data.comm.comm)));
      break;
    }
    case ProcEvent::Kind::kCoredump:
      if (have >= 16) {
        ev.parent_pid = load_pid(p, 8);
        ev.parent_tgid = load_pid(p, 12);
      }
      break;
    case ProcEvent::Kind::kExit:
      ev.exit_code = load<uint32_t>(d + 8);
      ev.exit_signal = load<uint32_t>(d + 12);
      if (have >= 24) {
        ev.parent_pid = load_pid(p, 16);
        ev.parent_tgid = load_pid(p, 20);
      }
      break;
    default:
      break;
  }
  return ev;
}

bool parse_proc_datagram(const void* data, size_t len, std::vector<ProcMessage>* out) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (p == nullptr && len != 0) return false;
  if (len == 0) return false;
  std::vector<ProcMessage> found;
  size_t off = 0;
  while (off < len) {
    if (len - off < NLMSG_HDRLEN) return false;  // a stray tail
    const auto nlh = load<nlmsghdr>(p + off);
    if (nlh.nlmsg_len < NLMSG_HDRLEN || nlh.nlmsg_len > len - off) return false;
    const unsigned char* payload = p + off + NLMSG_HDRLEN;
    const size_t payload_len = nlh.nlmsg_len - NLMSG_HDRLEN;
    // The connector sends every message as NLMSG_DONE; NOOP, ERROR and OVERRUN carry no event.
    if (nlh.nlmsg_type == NLMSG_DONE) {
      if (payload_len < sizeof(cn_msg)) return false;
      const auto cn = load<cn_msg>(payload);
      if (cn.len > payload_len - sizeof(cn_msg)) return false;
      if (cn.id.idx == CN_IDX_PROC && cn.id.val == CN_VAL_PROC) {
        std::optional<ProcEvent> ev = parse_proc_event(payload + sizeof(cn_msg), cn.len);
        if (!ev) return false;
        found.push_back(ProcMessage{cn.seq, cn.ack, std::move(*ev)});
      }
    }
    // Messages are padded to NLMSG_ALIGNTO; the last one's padding may be cut off.
    off += std::min<size_t>(NLMSG_ALIGN(nlh.nlmsg_len), len - off);
  }
  for (auto& m : found) out->push_back(std::move(m));
  return true;
}

uint64_t SequenceGaps::observe(uint32_t cpu, uint32_t seq) {
  auto [it, inserted] = last_.try_emplace(cpu, seq);
  if (inserted) return 0;
  const uint32_t step = seq - it->second;  // modulo 2^32: the counter wraps
  if (step == 0) return 0;
  it->second = seq;
  if (step > UINT32_MAX / 2) return 0;  // backwards: a reordering, not a loss
  return step - 1;
}

NetlinkProcEvents::NetlinkProcEvents(size_t buffer_bytes, bool force_buffer)
    : buffer_bytes_(buffer_bytes), force_buffer_(force_buffer) {}

NetlinkProcEvents::~NetlinkProcEvents() {
  stop();
}

Result<void> NetlinkProcEvents::fail(const char* what, int err) {
  std::string message = std::string("netlink process connector: ") + what + ": " + strerror(err);
  fd_.reset();
  listening_ = false;
  return Error{WbemStatus::kProviderFailure, std::move(message)};
}

int NetlinkProcEvents::send_op(uint32_t op) {
  static_assert(sizeof(nlmsghdr) == NLMSG_HDRLEN);
  constexpr size_t kLen = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(uint32_t));
  alignas(NLMSG_ALIGNTO) unsigned char msg[NLMSG_ALIGN(kLen)] = {};
  nlmsghdr nlh{};
  nlh.nlmsg_len = kLen;
  nlh.nlmsg_type = NLMSG_DONE;
  nlh.nlmsg_pid = port_;
  cn_msg cn{};
  cn.id.idx = CN_IDX_PROC;
  cn.id.val = CN_VAL_PROC;
  cn.seq = port_;  // the acknowledgement echoes it, with ack + 1
  cn.ack = 0;
  cn.len = sizeof(uint32_t);
  std::memcpy(msg, &nlh, sizeof nlh);
  std::memcpy(msg + NLMSG_HDRLEN, &cn, sizeof cn);
  std::memcpy(msg + NLMSG_HDRLEN + sizeof cn, &op, sizeof op);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;  // nl_pid 0: the kernel; nl_groups 0: unicast
  for (;;) {
    ssize_t n =
        ::sendto(fd_.get(), msg, kLen, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    if (n >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

Result<void> NetlinkProcEvents::start() {
  if (fd_.valid()) return {};
  // The kernel serves PROC_CN_MCAST_LISTEN only for listeners in the initial user and pid
  // namespaces, and refuses the others silently (no acknowledgement, no event ever).
  if (!in_initial_user_namespace() || !in_initial_pid_namespace())
    return Error{WbemStatus::kProviderFailure,
                 "netlink process connector: it serves only the initial user and pid namespaces, "
                 "and this process runs in another (a container)"};
  fd_.reset(::socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR));
  if (!fd_.valid()) return fail("socket", errno);

  // The buffer first, so nothing is dropped between LISTEN and the larger buffer.
  const int want = static_cast<int>(std::min<size_t>(buffer_bytes_, INT_MAX / 2));
  buffer_forced_ = false;
  if (force_buffer_ &&
      ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) == 0) {
    buffer_forced_ = true;
  } else if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &want, sizeof want) != 0) {
    return fail("SO_RCVBUF", errno);
  }
  int effective = 0;
  socklen_t effective_len = sizeof effective;
  if (::getsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &effective, &effective_len) != 0)
    return fail("getsockopt SO_RCVBUF", errno);
  receive_buffer_ = effective > 0 ? static_cast<size_t>(effective) : 0;

  sockaddr_nl self{};
  self.nl_family = AF_NETLINK;
  self.nl_pid = 0;  // the kernel assigns a port id
  self.nl_groups = CN_IDX_PROC;
  if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&self), sizeof self) != 0)
    return fail("bind", errno);
  socklen_t self_len = sizeof self;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&self), &self_len) != 0)
    return fail("getsockname", errno);
  port_ = self.nl_pid;

  if (int err = send_op(PROC_CN_MCAST_LISTEN); err != 0) return fail("PROC_CN_MCAST_LISTEN", err);
  listening_ = true;
  return {};
}

void NetlinkProcEvents::stop() {
  if (!fd_.valid()) return;
  if (listening_) (void)send_op(PROC_CN_MCAST_IGNORE);
  fd_.reset();
  listening_ = false;
  gaps_ = SequenceGaps();
}

Result<size_t> NetlinkProcEvents::read(std::vector<ProcEvent>* out, int timeout_ms) {
  if (!fd_.valid())
    return Error{WbemStatus::kProviderFailure, "netlink process connector: read before start"};
  pollfd pfd{fd_.get(), POLLIN, 0};
  int ready = ::poll(&pfd, 1, timeout_ms);
  if (ready < 0) {
    if (errno == EINTR) return size_t{0};
    return Error{WbemStatus::kProviderFailure,
                 std::string("netlink process connector: poll: ") + strerror(errno)};
  }
  if (ready == 0) return size_t{0};

  size_t appended = 0;
  alignas(NLMSG_ALIGNTO) unsigned char buf[8192];
  std::vector<ProcMessage> messages;
  for (int i = 0; i < kMaxDatagramsPerRead; ++i) {
    sockaddr_nl from{};
    socklen_t from_len = sizeof from;
    ssize_t n = ::recvfrom(fd_.get(), buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC,
                           reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOBUFS) {  // the kernel dropped messages for us: the caller rescans
        ++overruns_;
        continue;
      }
      return Error{WbemStatus::kProviderFailure,
                   std::string("netlink process connector: recv: ") + strerror(errno)};
    }
    // Only the kernel (port 0) speaks for the connector; another process could unicast to us.
    if (from_len < sizeof from || from.nl_family != AF_NETLINK || from.nl_pid != 0 ||
        static_cast<size_t>(n) > sizeof buf) {
      ++ignored_;
      continue;
    }
    messages.clear();
    if (!parse_proc_datagram(buf, static_cast<size_t>(n), &messages)) {
      ++ignored_;
      continue;
    }
    for (ProcMessage& m : messages) {
      if (m.event.kind == ProcEvent::Kind::kNone) {
        // The acknowledgement of our LISTEN: a refusal (e.g. outside the initial namespaces).
        if (m.seq == port_ && m.ack == 1 && m.event.err != 0) {
          int err = static_cast<int>(m.event.err);
          listening_ = false;
          return Error{WbemStatus::kProviderFailure,
                       std::string("netlink process connector: PROC_CN_MCAST_LISTEN refused: ") +
                           strerror(err)};
        }
        continue;  // other listeners' acknowledgements are multicast to everyone
      }
      // The same message twice (seen under load with several listeners): deliver it once.
      if (gaps_.is_repeat(m.event.cpu, m.seq)) {
        ++ignored_;
        continue;
      }
      lost_ += gaps_.observe(m.event.cpu, m.seq);
      out->push_back(std::move(m.event));
      ++appended;
    }
  }
  return appended;
}

ProcPollEvents::ProcPollEvents(ProcFs fs, int interval_ms)
    : fs_(std::move(fs)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      interval_ms_(interval_ms < 1 ? 1 : interval_ms) {}

ProcPollEvents::~ProcPollEvents() = default;

void ProcPollEvents::wake() {
  if (!wake_fd_.valid()) return;
  const uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof one);
}

bool ProcPollEvents::sleep(int64_t ms) {
  if (!wake_fd_.valid()) {  // no eventfd: a plain sleep
    ::usleep(static_cast<useconds_t>(ms) * 1000);
    return false;
  }
  pollfd pfd{wake_fd_.get(), POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(ms)) <= 0) return false;
  uint64_t v;
  (void)!::read(wake_fd_.get(), &v, sizeof v);
  return true;
}

void ProcPollEvents::scan(std::unordered_map<int32_t, uint64_t>* out) const {
  auto scanner = fs_.scan();
  int32_t pid;
  std::string text;
  while (scanner.next(&pid)) {
    if (fs_.read(pid, "stat", &text) != 0) continue;  // gone meanwhile
    // Fields after the last ')': state is field 3, starttime field 22.
    size_t close = text.rfind(')');
    if (close == std::string::npos) continue;
    size_t pos = close + 2;
    uint64_t start = 0;
    bool zombie = pos < text.size() && text[pos] == 'Z';
    for (int field = 3; field < 22 && pos != std::string::npos; ++field) {
      pos = text.find(' ', pos);
      if (pos != std::string::npos) ++pos;
    }
    if (pos == std::string::npos || zombie) continue;  // a zombie has exited
    start = std::strtoull(text.c_str() + pos, nullptr, 10);
    (*out)[pid] = start;
  }
}

Result<void> ProcPollEvents::start() {
  if (started_) return {};
  known_.clear();
  scan(&known_);
  ++scans_;
  started_ = true;
  next_scan_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(interval_ms_);
  return {};
}

Result<size_t> ProcPollEvents::read(std::vector<ProcEvent>* out, int timeout_ms) {
  if (!started_) return Error{WbemStatus::kProviderFailure, "/proc polling: read before start"};
  using Clock = std::chrono::steady_clock;
  auto now = Clock::now();
  if (now < next_scan_) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_scan_ - now).count() + 1;
    if (timeout_ms >= 0 && timeout_ms < wait) {
      sleep(timeout_ms);
      return size_t{0};
    }
    if (sleep(wait)) return size_t{0};
  }
  next_scan_ = Clock::now() + std::chrono::milliseconds(interval_ms_);
  std::unordered_map<int32_t, uint64_t> now_known;
  scan(&now_known);
  ++scans_;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t stamp = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
  size_t n = 0;
  auto emit = [&](ProcEvent::Kind kind, int32_t pid) {
    ProcEvent e;
    e.kind = kind;
    e.pid = e.tgid = pid;
    e.timestamp_ns = stamp;
    out->push_back(std::move(e));
    ++n;
  };
  for (const auto& [pid, start] : known_) {
    auto it = now_known.find(pid);
    if (it == now_known.end() || it->second != start) emit(ProcEvent::Kind::kExit, pid);
  }
  for (const auto& [pid, start] : now_known) {
    auto it = known_.find(pid);
    if (it == known_.end() || it->second != start) emit(ProcEvent::Kind::kExec, pid);
  }
  known_ = std::move(now_known);
  return n;
}

}  // namespace lwmi::os
