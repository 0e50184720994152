// permanent/store.cc — the rules, checked on the whole set after each change.
#include "permanent/store.h"
#include "base/mutex.h"

#include <algorithm>
#include <utility>

#include "base/strings.h"
#include "event/event_query.h"
#include "permanent/definitions_io.h"

namespace lwmi::permanent {
namespace {

Error located(const Origin& o, Error e) {
  if (o.from_file()) e.message = o.describe() + ": " + e.message;
  return e;
}

std::string where(const Origin& o) {
  return o.from_file() ? "defined in " + o.describe() : "in the store";
}

const EventFilter* find_filter(const Definitions& d, std::string_view name) {
  for (const auto& f : d.filters)
    if (base::iequals(f.name, name)) return &f;
  return nullptr;
}

const Consumer* find_consumer(const Definitions& d, const ConsumerRef& ref) {
  for (const auto& c : d.consumers)
    if (ConsumerRef{std::string(c.class_name()), c.name} == ref) return &c;
  return nullptr;
}

bool same_binding(const Binding& b, std::string_view filter, const ConsumerRef& consumer) {
  return base::iequals(b.filter, filter) && b.consumer == consumer;
}

Error read_only(const Origin& o, const std::string& what) {
  return Error{WbemStatus::kReadOnly,
               what + " is defined in " + o.describe() + ": edit that file and reload lwmid"};
}

}  // namespace

Store::Store(std::string path, ConsumerSettings settings)
    : path_(std::move(path)), settings_(std::move(settings)) {}

Result<void> Store::check_filter(const EventFilter& f) const {
  if (!base::iequals(f.event_namespace, "root\\cimv2") &&
      !base::iequals(f.event_namespace, "root/cimv2"))
    return Error{WbemStatus::kInvalidNamespace, "__EventFilter.EventNamespace is '" +
                                                    f.event_namespace +
                                                    "': events come from root\\cimv2"};
  auto q = event::compile_event_query(f.query);
  if (!q.ok()) {
    Error e = q.take_error();
    e.message = "__EventFilter '" + f.name + "': its Query is not an event query lwmi can run" +
                (e.position ? " (at column " + std::to_string(*e.position + 1) + ")" : "") + ": " +
                e.message;
    return e;
  }
  return Result<void>();
}

// Every rule, on the union: files first (so a duplicate names the store's copy).
Result<void> Store::check_all(const Definitions& files, const Definitions& stored) const {
  Definitions all = files;
  all.filters.insert(all.filters.end(), stored.filters.begin(), stored.filters.end());
  all.consumers.insert(all.consumers.end(), stored.consumers.begin(), stored.consumers.end());
  all.bindings.insert(all.bindings.end(), stored.bindings.begin(), stored.bindings.end());
  for (size_t i = 0; i < all.filters.size(); ++i) {
    const auto& f = all.filters[i];
    for (size_t j = 0; j < i; ++j)
      if (base::iequals(all.filters[j].name, f.name))
        return located(f.origin, Error{WbemStatus::kAlreadyExists,
                                       "an __EventFilter named '" + f.name + "' already exists (" +
                                           where(all.filters[j].origin) + ")"});
    if (auto r = check_filter(f); !r.ok()) return located(f.origin, r.take_error());
  }
  for (size_t i = 0; i < all.consumers.size(); ++i) {
    const auto& c = all.consumers[i];
    const ConsumerRef ref{std::string(c.class_name()), c.name};
    for (size_t j = 0; j < i; ++j)
      if (ConsumerRef{std::string(all.consumers[j].class_name()), all.consumers[j].name} == ref)
        return located(c.origin,
                       Error{WbemStatus::kAlreadyExists, "a " + ref.class_name + " named '" +
                                                             c.name + "' already exists (" +
                                                             where(all.consumers[j].origin) + ")"});
    if (auto r = check_consumer(c, settings_); !r.ok()) return located(c.origin, r.take_error());
  }
  for (size_t i = 0; i < all.bindings.size(); ++i) {
    const auto& b = all.bindings[i];
    for (size_t j = 0; j < i; ++j)
      if (same_binding(all.bindings[j], b.filter, b.consumer))
        return located(
            b.origin, Error{WbemStatus::kAlreadyExists,
                            "this binding already exists (" + where(all.bindings[j].origin) + ")"});
    if (!find_filter(all, b.filter))
      return located(b.origin, Error{WbemStatus::kNotFound,
                                     "the binding's filter does not exist: no __EventFilter "
                                     "named '" +
                                         b.filter + "'"});
    if (!find_consumer(all, b.consumer))
      return located(b.origin,
                     Error{WbemStatus::kNotFound, "the binding's consumer does not exist: no " +
                                                      b.consumer.class_name + " named '" +
                                                      b.consumer.name + "'"});
  }
  return Result<void>();
}

Result<void> Store::load() {
  Result<Definitions> d = path_.empty() ? Result<Definitions>(Definitions{}) : load_store(path_);
  if (!d.ok()) {
    base::MutexLock lock(mu_);
    stored_ = Definitions{};
    broken_ = d.error();
    return d.take_error();
  }
  {
    // What the store holds was checked when it was made; a consumer whose file or user went
    // away since is reported when its binding runs, not here (the store is never half-loaded).
    base::MutexLock lock(mu_);
    stored_ = std::move(*d);
    broken_.reset();
    ++generation_;
  }
  changed();
  return Result<void>();
}

Result<void> Store::set_files(Definitions files) {
  {
    base::MutexLock lock(mu_);
    if (auto r = check_all(files, stored_); !r.ok()) return r;
    files_ = std::move(files);
    ++generation_;
  }
  changed();
  return Result<void>();
}

Result<void> Store::commit_locked(Definitions next) {
  if (broken_)
    return Error{WbemStatus::kFailed,
                 "the subscription store cannot be changed: " + broken_->message +
                     " (fix or move the file away, then restart lwmid)"};
  if (!path_.empty())
    if (auto w = save_store(path_, next); !w.ok()) return w;
  stored_ = std::move(next);
  ++generation_;
  return Result<void>();
}

Result<void> Store::create(EventFilter filter) {
  filter.origin = Origin{};
  {
    base::MutexLock lock(mu_);
    Definitions next = stored_;
    next.filters.push_back(std::move(filter));
    if (auto r = check_all(files_, next); !r.ok()) return r;
    if (auto r = commit_locked(std::move(next)); !r.ok()) return r;
  }
  changed();
  return Result<void>();
}

Result<void> Store::create(Consumer consumer) {
  consumer.origin = Origin{};
  {
    base::MutexLock lock(mu_);
    Definitions next = stored_;
    next.consumers.push_back(std::move(consumer));
    if (auto r = check_all(files_, next); !r.ok()) return r;
    if (auto r = commit_locked(std::move(next)); !r.ok()) return r;
  }
  changed();
  return Result<void>();
}

Result<void> Store::create(Binding binding) {
  binding.origin = Origin{};
  {
    base::MutexLock lock(mu_);
    Definitions next = stored_;
    next.bindings.push_back(std::move(binding));
    if (auto r = check_all(files_, next); !r.ok()) return r;
    if (auto r = commit_locked(std::move(next)); !r.ok()) return r;
  }
  changed();
  return Result<void>();
}

Result<void> Store::delete_filter(const std::string& name) {
  {
    base::MutexLock lock(mu_);
    if (const EventFilter* f = find_filter(files_, name))
      return read_only(f->origin, "__EventFilter '" + f->name + "'");
    if (!find_filter(stored_, name))
      return Error{WbemStatus::kNotFound, "no __EventFilter named '" + name + "'"};
    for (const auto& b : files_.bindings)
      if (base::iequals(b.filter, name))
        return read_only(b.origin, "a binding of __EventFilter '" + name + "'");
    Definitions next = stored_;
    std::erase_if(next.filters, [&](const EventFilter& f) { return base::iequals(f.name, name); });
    std::erase_if(next.bindings, [&](const Binding& b) { return base::iequals(b.filter, name); });
    if (auto r = commit_locked(std::move(next)); !r.ok()) return r;
  }
  changed();
  return Result<void>();
}

Result<void> Store::delete_consumer(const ConsumerRef& ref) {
  {
    base::MutexLock lock(mu_);
    if (const Consumer* c = find_consumer(files_, ref))
      return read_only(c->origin, ref.class_name + " '" + c->name + "'");
    if (!find_consumer(stored_, ref))
      return Error{WbemStatus::kNotFound, "no " + ref.class_name + " named '" + ref.name + "'"};
    for (const auto& b : files_.bindings)
      if (b.consumer == ref)
        return read_only(b.origin, "a binding of " + ref.class_name + " '" + ref.name + "'");
    Definitions next = stored_;
    std::erase_if(next.consumers, [&](const Consumer& c) {
      return ConsumerRef{std::string(c.class_name()), c.name} == ref;
    });
    std::erase_if(next.bindings, [&](const Binding& b) { return b.consumer == ref; });
    if (auto r = commit_locked(std::move(next)); !r.ok()) return r;
  }
  changed();
  return Result<void>();
}

Result<void> Store::delete_binding(const std::string& filter, const ConsumerRef& consumer) {
  {
    base::MutexLock lock(mu_);
    for (const auto& b : files_.bindings)
      if (same_binding(b, filter, consumer)) return read_only(b.origin, "this binding");
    Definitions next = stored_;
    const size_t before = next.bindings.size();
    std::erase_if(next.bindings,
                  [&](const Binding& b) { return same_binding(b, filter, consumer); });
    if (next.bindings.size() == before)
      return Error{WbemStatus::kNotFound,
                   "no binding of __EventFilter '" + filter + "' to " + consumer.path()};
    if (auto r = commit_locked(std::move(next)); !r.ok()) return r;
  }
  changed();
  return Result<void>();
}

Definitions Store::all() const {
  base::MutexLock lock(mu_);
  Definitions out = files_;
  out.filters.insert(out.filters.end(), stored_.filters.begin(), stored_.filters.end());
  out.consumers.insert(out.consumers.end(), stored_.consumers.begin(), stored_.consumers.end());
  out.bindings.insert(out.bindings.end(), stored_.bindings.begin(), stored_.bindings.end());
  return out;
}

uint64_t Store::generation() const {
  base::MutexLock lock(mu_);
  return generation_;
}

void Store::on_change(std::function<void()> listener) {
  base::MutexLock lock(mu_);
  listeners_.push_back(std::move(listener));
}

void Store::changed() {
  std::vector<std::function<void()>> listeners;
  {
    base::MutexLock lock(mu_);
    listeners = listeners_;
  }
  for (auto& l : listeners) l();
}

}  // namespace lwmi::permanent
