#include "provider/process/process_provider.h"

#include <cmath>
#include <cstring>

#include "base/budget.h"
#include "base/strings.h"
#include "cim/schema.h"
#include "lwmi/datetime.h"

namespace lwmi::provider::process {
namespace {

class ProcessStream : public InstanceStream {
 public:
  ProcessStream(ProcessProvider* provider, const security::Caller& caller, Request request)
      : caller_(caller), request_(std::move(request)), scanner_(provider->fs().scan()) {
    if (caller_.pid_ns) view_.emplace(&provider->fs(), *caller_.pid_ns);
    ctx_ = provider->row_context(caller_, view_ ? &*view_ : nullptr);
    if (scanner_.error())
      error_ = Error{WbemStatus::kProviderFailure, "cannot read " + provider->fs().root() + ": " +
                                                       std::strerror(scanner_.error())};
  }

  bool next(Instance* out) override {
    if (error_) return false;
    if (request_.only_pid) {
      if (done_) return false;
      done_ = true;
      if (*request_.only_pid == 0 || *request_.only_pid > INT32_MAX) return false;
      // The pinned pid is the caller's: in its own pid namespace, translated to lwmi's.
      int32_t named = static_cast<int32_t>(*request_.only_pid), host = named;
      if (view_) {
        auto h = view_->to_host(named);
        if (!h) return false;
        host = *h;
      }
      ProcessRow row(ctx_, host);
      row.set_view_pid(named);
      if (!row.is_thread_group_leader()) return false;
      bool pass = passes(row);
      if (out_of_budget() || !pass) return false;
      auto inst = row.materialize(request_.properties);
      if (!inst) return false;
      *out = std::move(*inst);
      return true;
    }
    int32_t pid;
    while (scanner_.next(&pid)) {
      if (out_of_budget()) return false;
      ProcessRow row(ctx_, pid);
      if (view_) {  // only the caller's pid namespace, by the pids it knows there
        const ProcStatus* st = row.status();
        auto v = st ? view_->to_view(pid, st->nspid) : std::nullopt;
        if (!v) continue;
        row.set_view_pid(*v);
      }
      bool pass = passes(row);
      if (out_of_budget()) return false;
      if (!pass) continue;
      auto inst = row.materialize(request_.properties);
      if (!inst) continue;  // vanished or a zombie: not an instance
      *out = std::move(*inst);
      return true;
    }
    if (scanner_.error())
      error_ =
          Error{WbemStatus::kProviderFailure,
                std::string("reading the process list failed: ") + std::strerror(scanner_.error())};
    return false;
  }

 private:
  // The request's time budget is checked before each row and after its filter (a LIKE cut
  // short by a spent budget says false, which must not count as the row's answer): the stream
  // then ends with the budget's error, and a query cannot hold its worker much past the limit.
  bool out_of_budget() {
    if (!base::Budget::spent()) return false;
    error_ = base::Budget::current()->error();
    return true;
  }

  bool passes(ProcessRow& row) {
    if (!request_.filter) return true;
    return request_.filter([&row](size_t i) { return row.property(i); });
  }

  security::Caller caller_;
  Request request_;
  os::ProcFs::PidScanner scanner_;
  std::optional<os::PidView> view_;
  RowContext ctx_;
  bool done_ = false;
};

}  // namespace

ProcessProvider::ProcessProvider(os::ProcFs fs, os::SystemInfo sys)
    : fs_(std::move(fs)),
      sys_(std::move(sys)),
      cls_(cim::Schema::builtin().find("Win32_Process")),
      ids_(*cls_),
      control_(std::make_shared<os::LiveProcessControl>()) {}

std::unique_ptr<InstanceStream> ProcessProvider::enumerate(const security::Caller& caller,
                                                           const Request& request) {
  return std::make_unique<ProcessStream>(this, caller, request);
}

Result<int32_t> ProcessProvider::pid_of(const ObjectPath& path) {
  for (const auto& k : path.keys) {
    if (!k.name.empty() && !base::iequals(k.name, "Handle") &&
        !base::iequals(k.name, "CreationDate"))
      return Error{WbemStatus::kInvalidObjectPath,
                   "'" + k.name + "' is not a key of Win32_Process (its key is Handle)"};
  }
  const KeyBinding* h = path.key("Handle");
  if (!h || (h->name.empty() && path.keys.size() != 1))
    return Error{WbemStatus::kInvalidObjectPath, "Win32_Process path has no Handle key"};
  std::string text = h->value.to_text();
  auto v = base::parse_u64(text);
  if (!v || *v == 0 || *v > INT32_MAX)
    return Error{WbemStatus::kNotFound, "no process with Handle \"" + text + "\""};
  return static_cast<int32_t>(*v);
}

bool ProcessProvider::creation_date_matches(const ObjectPath& path, uint64_t start_ticks) const {
  const KeyBinding* cd = nullptr;
  for (const auto& k : path.keys)
    if (base::iequals(k.name, "CreationDate")) cd = &k;
  if (!cd) return true;
  auto dt = DateTime::parse(cd->value.to_text());
  if (!dt.ok() || !dt->unix_micros()) return false;
  // Compare at clock-tick resolution: the path's instant as ticks since boot, rounded.
  double ticks = static_cast<double>(*dt->unix_micros() - sys_.boot_epoch_us) *
                 static_cast<double>(sys_.clk_tck) / 1e6;
  return std::llround(ticks) == static_cast<long long>(start_ticks);
}

Result<int32_t> ProcessProvider::host_pid(const security::Caller& caller, int32_t named,
                                          std::optional<os::PidView>* view) const {
  if (!caller.pid_ns) return named;
  view->emplace(&fs_, *caller.pid_ns);
  auto host = (*view)->to_host(named);
  if (!host)
    return Error{WbemStatus::kNotFound, "no process with Handle \"" + std::to_string(named) +
                                            "\" in the caller's pid namespace"};
  return *host;
}

RowContext ProcessProvider::row_context(const security::Caller& caller, const os::PidView* view) {
  RowContext ctx;
  ctx.fs = &fs_;
  ctx.sys = &sys_;
  ctx.caller = &caller;
  ctx.cls = cls_;
  ctx.ids = &ids_;
  ctx.peaks = &peaks_;
  ctx.view = view;
  return ctx;
}

Result<Instance> ProcessProvider::get(const security::Caller& caller, const ObjectPath& path,
                                      const Request& request) {
  auto pid = pid_of(path);
  if (!pid.ok()) return pid.take_error();
  std::optional<os::PidView> view;
  auto host = host_pid(caller, *pid, &view);
  if (!host.ok()) return host.take_error();
  RowContext ctx = row_context(caller, view ? &*view : nullptr);
  ProcessRow row(ctx, *host);
  row.set_view_pid(*pid);
  auto not_found = [&] {
    return Error{WbemStatus::kNotFound, "no process with Handle \"" + std::to_string(*pid) + "\""};
  };
  if (!row.exists() || !row.is_thread_group_leader()) return not_found();
  if (!creation_date_matches(path, *row.start_ticks()))
    return Error{WbemStatus::kNotFound, "process " + std::to_string(*pid) +
                                            " has another CreationDate: the pid was reused or "
                                            "the path is stale"};
  auto inst = row.materialize(request.properties);
  if (!inst) return not_found();
  return std::move(*inst);
}

}  // namespace lwmi::provider::process
