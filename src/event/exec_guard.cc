#include "event/exec_guard.h"
#include "base/mutex.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <utility>

#include "base/strings.h"

namespace lwmi::event {
namespace {

using os::GuardKey;
using wql::Condition;

// A file name as the kernel keeps it in a directory entry (NAME_MAX).
constexpr size_t kMaxFileName = 255;
// comm: TASK_COMM_LEN less its NUL.
constexpr size_t kMaxComm = 15;

// What one decidable predicate asks for: a program by file name, or by full path.
struct Term {
  bool path = false;
  std::string value;
  std::string property;  ///< as the query names it, for messages
};

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

class Decider {
 public:
  explicit Decider(const EventQuery& q) : q_(q), cls_(*q.filter->concrete) {}

  // The terms `c` is the union of, or why the kernel cannot decide it.
  Result<std::vector<Term>> decide(const Condition& c) const {
    using K = wql::Expr::Kind;
    switch (c.kind) {
      case K::kOr: {
        auto l = decide(*c.left);
        if (!l.ok()) return l.take_error();
        auto r = decide(*c.right);
        if (!r.ok()) return r.take_error();
        l->insert(l->end(), r->begin(), r->end());
        return l;
      }
      case K::kAnd: {
        // The ISA test is already gone (compile_event_query drops it); what is left must be
        // Name = 'x' AND ExecutablePath = '/d/x', which is the path alone (Name is the
        // executable's file name).
        auto l = decide(*c.left);
        if (!l.ok()) return l.take_error();
        auto r = decide(*c.right);
        if (!r.ok()) return r.take_error();
        if (l->size() == 1 && r->size() == 1 && l->front().path != r->front().path) {
          const Term& path = l->front().path ? l->front() : r->front();
          const Term& name = l->front().path ? r->front() : l->front();
          // WQL's '=' ignores case: the two agree on every process when they agree so.
          if (base::iequals(base::base_name(path.value), name.value))
            return std::vector<Term>{path};
        }
        return refuse(c,
                      "an AND is decided in the kernel only as Name = 'x' AND ExecutablePath = "
                      "'/dir/x' (or with the ISA test)");
      }
      case K::kNot:
        return refuse(c, "NOT cannot be decided in the kernel");
      case K::kLike:
        return refuse(c, "a LIKE pattern cannot be decided in the kernel");
      case K::kCompare:
        break;
      default:
        return refuse(c, "the kernel decides only " + names());
    }
    const std::string name = property(c.property);
    const bool is_name = q_.start_trace ? base::iequals(name, "ProcessName")
                                        : base::iequals(name, "Name") && in_target(c.property);
    const bool is_path =
        !q_.start_trace && base::iequals(name, "ExecutablePath") && in_target(c.property);
    if (!is_name && !is_path) return refuse(c, "the kernel decides only " + names());
    if (c.op != wql::CompareOp::kEq)
      return refuse(c,
                    std::string("the kernel decides only '=', not '") + wql::op_text(c.op) + "'");
    return std::vector<Term>{Term{is_path, c.constant.as_string(), display(c.property)}};
  }

  // The condition as WQL text, for messages.
  std::string text(const Condition& c) const {
    using K = wql::Expr::Kind;
    auto side = [&](const Condition& s) {
      const bool group = (s.kind == K::kAnd || s.kind == K::kOr) && s.kind != c.kind;
      return group ? "(" + text(s) + ")" : text(s);
    };
    switch (c.kind) {
      case K::kAnd:
        return side(*c.left) + " AND " + side(*c.right);
      case K::kOr:
        return side(*c.left) + " OR " + side(*c.right);
      case K::kNot:
        return "NOT (" + text(*c.left) + ")";
      case K::kLike:
        return display(c.property) + (c.negated ? " NOT LIKE …" : " LIKE …");
      case K::kIsNull:
        return display(c.property) + (c.negated ? " IS NOT NULL" : " IS NULL");
      case K::kCompare: {
        const bool textual = !c.constant.is_null() && (c.constant.type() == CimType::kString ||
                                                       c.constant.type() == CimType::kDatetime);
        const std::string constant = c.when    ? quoted(c.when->to_string())
                                     : textual ? quoted(c.constant.as_string())
                                               : c.constant.to_text();
        return display(c.property) + " " + wql::op_text(c.op) + " " + constant;
      }
      default:
        return display(c.property);
    }
  }

 private:
  Error refuse(const Condition& c, const std::string& why) const {
    return Error{WbemStatus::kNotSupported, "the kernel cannot decide " + text(c) + ": " + why};
  }
  std::string names() const {
    return q_.start_trace ? "ProcessName = 'constant'"
                          : "TargetInstance.Name or TargetInstance.ExecutablePath = 'constant'";
  }
  bool in_target(size_t i) const { return q_.intrinsic() && i < q_.target_count; }
  std::string property(size_t i) const {
    if (i == wql::kClassProperty) return "__CLASS";
    return i < cls_.properties.size() ? cls_.properties[i].name : std::string("?");
  }
  // As the query wrote it: TargetInstance.Name (PreviousInstance.X is named so already).
  std::string display(size_t i) const {
    return in_target(i) ? "TargetInstance." + property(i) : property(i);
  }

  const EventQuery& q_;
  const ClassDecl& cls_;
};

Error not_supported(const std::string& what) {
  return Error{WbemStatus::kNotSupported, what};
}

// A file name key (and comm when it fits) for Name = 'x'.
Result<void> name_keys(const Term& t, std::vector<GuardKey>* keys,
                       std::vector<std::string>* summary) {
  const std::string& name = t.value;
  if (name.empty())
    return not_supported("the kernel cannot decide " + t.property + " = '': no file is named ''");
  if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos)
    return not_supported("the kernel cannot decide " + t.property + " = " + quoted(name) +
                         ": a file name has no '/' (ExecutablePath names a path)");
  if (name.size() > kMaxFileName)
    return not_supported("the kernel cannot decide a " + t.property + " of " +
                         std::to_string(name.size()) + " bytes: a file name has at most 255");
  GuardKey k;
  k.kind = GuardKey::Kind::kFileName;
  k.name = name;
  keys->push_back(k);
  std::string text = "file name " + quoted(name);
  if (name.size() <= kMaxComm) {
    k.kind = GuardKey::Kind::kComm;
    keys->push_back(k);
    text += " or comm " + quoted(name);
  }
  summary->push_back(std::move(text));
  return {};
}

// A directory + leaf key for ExecutablePath = '/d/x': the directory as it resolves now.
Result<void> path_keys(const Term& t, std::vector<GuardKey>* keys,
                       std::vector<std::string>* summary) {
  const std::string& path = t.value;
  auto refuse = [&](const std::string& why) {
    return not_supported("the kernel cannot decide " + t.property + " = " + quoted(path) + ": " +
                         why);
  };
  if (path.empty() || path[0] != '/') return refuse("it is not an absolute path");
  if (path.find('\0') != std::string::npos) return refuse("a path has no NUL character");
  const size_t slash = path.rfind('/');
  const std::string leaf = path.substr(slash + 1);
  const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  if (leaf.empty() || leaf == "." || leaf == "..") return refuse("it names no file");
  if (leaf.size() > kMaxFileName) return refuse("its file name is longer than 255 bytes");
  char real[PATH_MAX];
  if (!::realpath(dir.c_str(), real)) {
    const int err = errno;
    if (err == ENOENT) return refuse("the directory " + dir + " does not exist");
    return refuse("the directory " + dir + " cannot be resolved: " + std::strerror(err));
  }
  struct stat st;
  if (::stat(real, &st) != 0)
    return refuse("the directory " + std::string(real) + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return refuse(dir + " is not a directory");
  GuardKey k;
  k.kind = GuardKey::Kind::kPath;
  k.dev = os::kernel_dev(st.st_dev);
  k.ino = st.st_ino;
  k.name = leaf;
  keys->push_back(k);
  const std::string shown(real);
  summary->push_back("path " + quoted((shown == "/" ? "" : shown) + "/" + leaf));
  return {};
}

}  // namespace

Result<GuardRules> compile_guard_rules(const EventQuery& q) {
  const std::string cls = q.event_class ? q.event_class->name : std::string("the event class");
  if (q.deletion || q.modification)
    return not_supported(cls + " delivers " + (q.deletion ? "deletions" : "modifications") +
                         ": only process starts (__InstanceCreationEvent, "
                         "Win32_ProcessStartTrace) can be blocked in the kernel");
  if (q.stop_trace)
    return not_supported(cls +
                         " delivers stop traces: only process starts (__InstanceCreationEvent, "
                         "Win32_ProcessStartTrace) can be blocked in the kernel");
  if (!q.creation && !q.start_trace)
    return not_supported(cls + " delivers no process starts to block");
  if (q.group_within)
    return not_supported(
        "GROUP WITHIN delivers one aggregate per group, not each start: the kernel cannot block "
        "its matches");
  if (!q.filter || !q.filter->where)
    return Error{WbemStatus::kInvalidParameter,
                 "the query matches every process start: a kernel rule blocking every exec would "
                 "stop the host (name the programs: TargetInstance.Name = 'x')"};
  Decider decider(q);
  auto terms = decider.decide(*q.filter->where);
  if (!terms.ok()) return terms.take_error();
  GuardRules out;
  std::vector<std::string> summary;
  for (const Term& t : *terms) {
    std::vector<GuardKey> keys;
    std::vector<std::string> text;
    auto r = t.path ? path_keys(t, &keys, &text) : name_keys(t, &keys, &text);
    if (!r.ok()) return r.take_error();
    // Name = 'x' OR Name = 'x' installs one key.
    bool added = false;
    for (auto& k : keys) {
      if (std::find(out.keys.begin(), out.keys.end(), k) != out.keys.end()) continue;
      out.keys.push_back(std::move(k));
      added = true;
    }
    if (added) summary.insert(summary.end(), text.begin(), text.end());
  }
  for (size_t i = 0; i < summary.size(); ++i) out.summary += (i ? " or " : "") + summary[i];
  return out;
}

// ---------------------------------------------------------------------------------------------
// ExecGuard

namespace {

struct KeyLess {
  bool operator()(const GuardKey& a, const GuardKey& b) const {
    return std::tie(a.kind, a.dev, a.ino, a.uid, a.name) <
           std::tie(b.kind, b.dev, b.ino, b.uid, b.name);
  }
};

struct Holder {
  uint32_t rule = 0;
  uint32_t exempt_session = 0;
};

// Rule ids are unique in the process (every ExecGuard on the one BpfMonitor draws from here).
std::atomic<uint32_t> g_last_rule{0};

}  // namespace

struct ExecGuard::State {
  std::shared_ptr<os::BpfMonitor> monitor;
  GuardConfig cfg;
  std::vector<std::string> problems;

  base::Mutex mu;
  /// Each kernel key and its holders, oldest first: the newest owns the kernel entry.
  std::map<GuardKey, std::vector<Holder>, KeyLess> keys GUARDED_BY(mu);
  std::set<uint32_t> live_rules GUARDED_BY(mu);
  std::set<std::pair<uint64_t, uint64_t>> protected_files GUARDED_BY(mu);

  /// Protects the file at `path` as it is now (by device and inode). kNotFound: nothing there.
  /// Locked (or constructing).
  Result<void> protect(const std::string& path) REQUIRES(mu) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      const int err = errno;
      return Error{err == ENOENT ? WbemStatus::kNotFound : WbemStatus::kFailed, std::strerror(err)};
    }
    const std::pair<uint64_t, uint64_t> id{os::kernel_dev(st.st_dev), st.st_ino};
    if (protected_files.count(id)) return {};
    if (auto r = monitor->protect(id.first, id.second); !r.ok()) return r;
    protected_files.insert(id);
    return {};
  }

  /// Writes the kernel entry of `key` from its holders: the newest's rule, the exempt session
  /// when every holder exempts that same one; removed without holders. Locked.
  Result<void> write(const GuardKey& key) REQUIRES(mu) {
    auto it = keys.find(key);
    if (it == keys.end()) return {};
    const auto& holders = it->second;
    if (holders.empty()) {
      monitor->remove_rule(key);
      keys.erase(it);
      return {};
    }
    uint32_t exempt = holders.front().exempt_session;
    for (const Holder& h : holders)
      if (h.exempt_session != exempt) exempt = 0;  // a session one holder blocks stays blocked
    return monitor->add_rule(key, holders.back().rule, exempt);
  }

  /// Drops `rule` from `keys`' holders and rewrites them. Locked.
  void release(uint32_t rule, const std::vector<GuardKey>& released) REQUIRES(mu) {
    for (const GuardKey& k : released) {
      auto it = keys.find(k);
      if (it == keys.end()) continue;
      auto& holders = it->second;
      holders.erase(std::remove_if(holders.begin(), holders.end(),
                                   [&](const Holder& h) { return h.rule == rule; }),
                    holders.end());
      // Re-pointing a key that stays replaces its entry in place: it needs no room, cannot fail.
      (void)write(k);
    }
    monitor->forget_rule(rule);
    live_rules.erase(rule);
  }

  uint32_t next_rule() REQUIRES(mu) {
    for (;;) {
      const uint32_t id = ++g_last_rule;
      if (id != 0 && !live_rules.count(id)) return id;
    }
  }
};

ExecGuard::ExecGuard(std::shared_ptr<os::BpfMonitor> monitor, GuardConfig cfg)
    : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.monitor = std::move(monitor);
  s.cfg = std::move(cfg);
  s.monitor->set_breaker(s.cfg.breaker_per_second);
  base::MutexLock lock(s.mu);  // nobody else sees the state yet; protect() is written locked
  // lwmid's own executable: its process is spared by tgid; this spares another instance of it
  // (a restart) and lwmic's embedded engine started from the same file.
  if (auto r = s.protect("/proc/self/exe"); !r.ok())
    s.problems.push_back("lwmid's own executable cannot be protected: " + r.error().message);
  for (const auto& path : s.cfg.protected_programs)
    if (auto r = s.protect(path); !r.ok())
      s.problems.push_back("protected program " + path + ": " + r.error().message);
  s.monitor->set_guard(s.cfg.enabled);
}

ExecGuard::~ExecGuard() = default;

os::BpfMonitor& ExecGuard::monitor() {
  return *state_->monitor;
}

const GuardConfig& ExecGuard::config() const {
  return state_->cfg;
}

const std::vector<std::string>& ExecGuard::problems() const {
  return state_->problems;
}

size_t ExecGuard::installed_keys() const {
  base::MutexLock lock(state_->mu);
  return state_->keys.size();
}

Result<std::unique_ptr<GuardHandle>> ExecGuard::install(const security::Caller& caller,
                                                        const GuardRules& rules,
                                                        uint32_t exempt_session) {
  State& s = *state_;
  if (!s.cfg.enabled)
    return Error{WbemStatus::kNotSupported,
                 "the exec guard is disabled ([guard] enabled = false in lwmid.conf): no kernel "
                 "rule is installed"};
  // The admin group is who holds SeDebugPrivilege (uid 0 and [security] admin_group, in
  // lwmid's namespaces): the one notion Terminate uses too.
  if (!caller.held.has(security::Privilege::kDebug))
    return Error{WbemStatus::kAccessDenied, "only the admin group may install kernel rules"};
  if (rules.keys.empty()) return Error{WbemStatus::kInvalidParameter, "no kernel rule to install"};
  // Other users' programs only with SeDebugPrivilege enabled, as Terminate.
  const bool any_uid = caller.can(security::Privilege::kDebug);
  std::vector<GuardKey> keys;
  for (GuardKey k : rules.keys) {
    if (!any_uid) {
      if (k.uid && *k.uid != caller.uid)
        return Error{WbemStatus::kAccessDenied, "a kernel rule for uid " + std::to_string(*k.uid) +
                                                    " needs SeDebugPrivilege held and enabled"};
      k.uid = caller.uid;
    }
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(std::move(k));
  }

  base::MutexLock lock(s.mu);
  // A protected program replaced since (an upgrade gives it a new inode) is protected as it is
  // now before any rule could name it.
  for (const auto& path : s.cfg.protected_programs) {
    auto r = s.protect(path);
    if (!r.ok() && r.error().code != WbemStatus::kNotFound)
      return Error{r.error().code,
                   "protected program " + path + " cannot be protected: " + r.error().message};
  }
  const uint32_t rule = s.next_rule();
  for (size_t i = 0; i < keys.size(); ++i) {
    s.keys[keys[i]].push_back(Holder{rule, exempt_session});
    if (auto r = s.write(keys[i]); !r.ok()) {
      s.release(rule, std::vector<GuardKey>(keys.begin(), keys.begin() + i + 1));
      return r.take_error();
    }
  }
  s.live_rules.insert(rule);
  return std::unique_ptr<GuardHandle>(
      new GuardHandle(state_, rule, rules.summary, std::move(keys)));
}

GuardHandle::~GuardHandle() {
  base::MutexLock lock(state_->mu);
  state_->release(rule_, keys_);
}

os::GuardRuleState GuardHandle::state() const {
  base::MutexLock lock(state_->mu);
  os::GuardRuleState st = state_->monitor->rule_state(rule_);
  for (const GuardKey& k : keys_) {
    auto it = state_->keys.find(k);
    if (it == state_->keys.end() || it->second.empty()) continue;
    const uint32_t owner = it->second.back().rule;
    if (owner != rule_ && state_->monitor->rule_state(owner).tripped) st.tripped = true;
  }
  return st;
}

}  // namespace lwmi::event
