#include "service/cim_service.h"

#include "base/strings.h"
#include "cim/schema.h"

namespace lwmi::service {
namespace {

bool is_cimv2(std::string_view ns) {
  std::string n(ns);
  for (char& c : n)
    if (c == '/') c = '\\';
  while (!n.empty() && n.front() == '\\') n.erase(n.begin());
  return base::iequals(n, "root\\cimv2");
}

}  // namespace

CimService::CimService(config::Config config, os::ProcFs fs, os::SystemInfo sys)
    : config_(std::move(config)), processes_(std::move(fs), std::move(sys)) {}

Result<void> CimService::check_location(const ObjectPath& path) const {
  if (!path.server.empty() && path.server != "." && !base::iequals(path.server, "localhost") &&
      !base::iequals(path.server, system().host))
    return Error{WbemStatus::kInvalidParameter,
                 "the path names host '" + path.server + "': connect to it with --node " +
                     path.server};
  if (!path.namespace_path.empty() && !is_cimv2(path.namespace_path))
    return Error{WbemStatus::kInvalidNamespace,
                 "namespace '" + path.namespace_path + "' does not exist (lwmi serves root\\cimv2)"};
  return {};
}

Result<std::shared_ptr<const ClassDecl>> CimService::get_class(std::string_view name) const {
  if (name.size() > 255)
    return Error{WbemStatus::kClassNameTooWide, "class name longer than 255 characters"};
  auto cls = cim::Schema::builtin().find(name);
  if (!cls)
    return Error{WbemStatus::kInvalidClass,
                 "no class named '" + std::string(name) + "' in root\\cimv2"};
  return cls;
}

Result<provider::Request> CimService::request_for(const ClassDecl& requested,
                                                  const std::vector<std::string>& properties) const {
  provider::Request req;
  if (properties.empty()) return req;
  // Names are checked against the class asked for, then mapped to Win32_Process indices.
  for (const auto& p : properties)
    if (!requested.property(p))
      return Error{WbemStatus::kInvalidProperty,
                   "class " + requested.name + " has no property '" + p + "'"};
  auto set = provider::PropertySet::of(*processes_.class_decl(), properties);
  if (!set.ok()) return set.take_error();
  req.properties = std::move(*set);
  return req;
}

Result<Instance> CimService::get_object(const security::Caller& caller, std::string_view text,
                                        const std::vector<std::string>& properties) {
  auto path = ObjectPath::parse(text);
  if (!path.ok()) return path.take_error();
  if (auto loc = check_location(*path); !loc.ok()) return loc.take_error();
  if (path->is_namespace_path())
    return Error{WbemStatus::kInvalidObjectPath,
                 "'" + std::string(text) + "' names a namespace, not an instance"};
  auto cls = get_class(path->class_name);
  if (!cls.ok()) return cls.take_error();
  if (path->is_class_path())
    return Error{WbemStatus::kInvalidObjectPath,
                 "'" + std::string(text) + "' names the class " + (*cls)->name +
                     ", not an instance: add its key, e.g. " + (*cls)->name + ".Handle=\"1\""};
  if (!processes_.class_decl()->is_a((*cls)->name))
    return Error{WbemStatus::kNotFound, "no instance of " + (*cls)->name + " matches '" +
                                            std::string(text) + "'"};
  auto req = request_for(**cls, properties);
  if (!req.ok()) return req.take_error();
  return processes_.get(caller, *path, *req);
}

namespace {
class EmptyStream : public InstanceStream {
 public:
  bool next(Instance*) override { return false; }
};
}  // namespace

Result<std::unique_ptr<InstanceStream>> CimService::enumerate(
    const security::Caller& caller, std::string_view class_name,
    const std::vector<std::string>& properties) {
  auto cls = get_class(class_name);
  if (!cls.ok()) return cls.take_error();
  auto req = request_for(**cls, properties);
  if (!req.ok()) return req.take_error();
  // Win32_Process is the one concrete class with instances; a query on an ancestor returns
  // its instances, and any other class has none.
  if (!processes_.class_decl()->is_a((*cls)->name))
    return std::unique_ptr<InstanceStream>(std::make_unique<EmptyStream>());
  return processes_.enumerate(caller, *req);
}

}  // namespace lwmi::service
