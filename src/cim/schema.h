// cim/schema.h — the class repository: every ClassDecl lwmi knows, loaded from schema/*.json.
//
// The built-in schema is compiled into the library and parsed once, on first use. Properties are
// flattened (inherited ones included) and ordered by name, so property indices are stable.
// Thread safety: builtin() is initialised once (thread-safe static) and is immutable afterwards.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "lwmi/class_decl.h"
#include "lwmi/result.h"

namespace lwmi::cim {

class Schema {
 public:
  /// The schema compiled into lwmi.
  static const Schema& builtin();
  /// Parses schema documents (JSON text each); errors name the document and the class.
  static Result<Schema> load(const std::vector<std::string_view>& documents);

  /// A class by name (case-insensitive); nullptr when unknown.
  std::shared_ptr<const ClassDecl> find(std::string_view name) const;
  /// Every class, in load order.
  const std::vector<std::shared_ptr<const ClassDecl>>& classes() const { return classes_; }
  /// Concrete classes that are `cls` or derive from it (for queries on a superclass).
  std::vector<std::shared_ptr<const ClassDecl>> subclasses_of(std::string_view cls) const;

 private:
  std::vector<std::shared_ptr<const ClassDecl>> classes_;
};

}  // namespace lwmi::cim
