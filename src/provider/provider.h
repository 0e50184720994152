// provider/provider.h — the interface every class provider implements.
//
// A provider serves one class (and answers for its superclasses): enumerate, get by path, and
// methods. Every call takes the Caller; the provider masks what the caller may not see and
// checks what the caller may do. `properties` says which properties the caller needs (a SELECT
// list plus WHERE), so the provider reads only the sources they need; empty means all.
// Thread safety: implementations are safe to call from several threads at once.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "lwmi/class_decl.h"
#include "lwmi/instance.h"
#include "lwmi/instance_stream.h"
#include "lwmi/object_path.h"
#include "lwmi/result.h"
#include "security/caller.h"

namespace lwmi::provider {

/// Which properties of a class a request needs, by index; empty() means every property.
class PropertySet {
 public:
  PropertySet() = default;
  static PropertySet all() { return PropertySet(); }
  /// Resolves names against `cls`; WBEM_E_INVALID_PROPERTY naming the first unknown one.
  static Result<PropertySet> of(const ClassDecl& cls, const std::vector<std::string>& names);
  void add(size_t index);
  bool is_all() const { return bits_.empty(); }
  bool contains(size_t index) const {
    return bits_.empty() || (index < bits_.size() && bits_[index]);
  }

 private:
  std::vector<bool> bits_;
};

/// Hints a query gives the provider; the provider may use them to read less, and the caller
/// still re-checks its WHERE clause on every result.
struct Request {
  PropertySet properties;            ///< what each returned instance carries
  std::optional<uint32_t> only_pid;  ///< a WHERE that pins Handle / ProcessId (0: none match)
  /// A WHERE clause, evaluated on each row before it is materialised. It reads properties
  /// through `read` (by class index), so only the sources it needs are read, on the caller's
  /// masked view. Empty: every row.
  std::function<bool(const std::function<Value(size_t)>& read)> filter;
};

/// Instances made up front, streamed (classes with few instances).
class VectorStream : public InstanceStream {
 public:
  /// The instances of `v`; with `error`, none: the stream ends at once with that error.
  explicit VectorStream(std::vector<Instance> v, std::optional<Error> error = std::nullopt)
      : v_(std::move(v)) {
    error_ = std::move(error);
  }
  bool next(Instance* out) override {
    if (error_ || i_ >= v_.size()) return false;
    *out = std::move(v_[i_++]);
    return true;
  }

 private:
  std::vector<Instance> v_;
  size_t i_ = 0;
};

class InstanceProvider {
 public:
  virtual ~InstanceProvider() = default;
  virtual std::shared_ptr<const ClassDecl> class_decl() const = 0;
  /// Streams every instance visible to the caller.
  virtual std::unique_ptr<InstanceStream> enumerate(const security::Caller& caller,
                                                    const Request& request) = 0;
  /// One instance by path; WBEM_E_NOT_FOUND when there is none (or its identity is stale).
  virtual Result<Instance> get(const security::Caller& caller, const ObjectPath& path,
                               const Request& request) = 0;
};

}  // namespace lwmi::provider
