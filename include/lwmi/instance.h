// lwmi/instance.h — a CIM instance: its class, property values, system properties, identity.
//
// Values are stored by property index of the class declaration. An instance may be a projection
// (a SELECT list): only the selected properties are present, and __PATH / __RELPATH are NULL unless
// every key is present — yet `identity()` always names the object (for Win32_Process, Handle and
// CreationDate), so any instance the engine returned can be the target of a method call that
// never reaches a process that reused its pid.
// Thread safety: not synchronised; treat a shared Instance as read-only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lwmi/class_decl.h"
#include "lwmi/object_path.h"
#include "lwmi/value.h"

namespace lwmi {

class Instance {
 public:
  Instance() = default;
  /// An instance of `cls` with no property present yet.
  explicit Instance(std::shared_ptr<const ClassDecl> cls);
  /// The class `cls` itself as an object (WMI's class object, __GENUS 1), as a schema query
  /// (SELECT * FROM meta_class) returns it: no property values, and system properties that
  /// describe the class (__CLASS, __SUPERCLASS, __DERIVATION, __PROPERTY_COUNT = the number of
  /// properties it declares, __RELPATH = its name, __PATH = \\server\namespace:Class).
  static Instance class_object(std::shared_ptr<const ClassDecl> cls);
  /// True for a class object (__GENUS 1), false for an instance (__GENUS 2).
  bool is_class() const { return is_class_; }

  const ClassDecl& cls() const { return *cls_; }
  const std::shared_ptr<const ClassDecl>& cls_ptr() const { return cls_; }
  bool valid() const { return cls_ != nullptr; }
  const std::string& class_name() const { return cls_->name; }

  /// Sets property `index` and marks it present.
  void set(size_t index, Value v);
  /// Sets a property by name; false when the class has no such property.
  bool set(std::string_view name, Value v);
  /// True when property `index` is in this instance (selected and filled).
  bool has(size_t index) const { return index < present_.size() && present_[index]; }
  /// The value at `index` (a typed NULL when absent).
  const Value& at(size_t index) const;
  /// A property or system property (`__CLASS`, `__PATH`…) by name, case-insensitive;
  /// nullopt when the class has no such name or the property is not in this projection.
  std::optional<Value> get(std::string_view name) const;

  /// Present (name, value) pairs in declaration order.
  std::vector<std::pair<std::string, Value>> properties() const;
  /// The ten system properties in WMI's order (__GENUS, __CLASS, __SUPERCLASS, __DYNASTY,
  /// __RELPATH, __PROPERTY_COUNT, __DERIVATION, __SERVER, __NAMESPACE, __PATH).
  std::vector<std::pair<std::string, Value>> system_properties() const;
  /// Number of present properties (__PROPERTY_COUNT).
  size_t property_count() const;

  void set_server(std::string server) { server_ = std::move(server); }
  void set_namespace(std::string ns) { namespace_ = std::move(ns); }
  const std::string& server() const { return server_; }
  const std::string& namespace_path() const { return namespace_; }

  /// The object's identity (relative path with every key, plus CreationDate for processes).
  void set_identity(ObjectPath path) { identity_ = std::move(path); }
  const ObjectPath& identity() const { return identity_; }
  /// __RELPATH: Class.Key="v" when every key is present, else nullopt.
  std::optional<std::string> relpath() const;
  /// __PATH: \\server\namespace:relpath when every key is present, else nullopt.
  std::optional<std::string> path() const;

 private:
  std::shared_ptr<const ClassDecl> cls_;
  std::vector<Value> values_;
  std::vector<bool> present_;
  std::string server_;
  std::string namespace_ = "root\\cimv2";
  ObjectPath identity_;
  bool is_class_ = false;
};

}  // namespace lwmi
