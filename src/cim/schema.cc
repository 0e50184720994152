#include "cim/schema.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace lwmi::cim {

// Defined in the generated schema_data.cc.
extern const std::string_view kSchemaSources[];
extern const size_t kSchemaSourceCount;

namespace {

using nlohmann::json;

Result<Value> qualifier_value(const json& j) {
  if (j.is_array()) {
    // ValueMap / Values: every element of one scalar type.
    std::vector<Value> elems;
    for (const auto& e : j) {
      if (e.is_array()) return Error{WbemStatus::kInvalidParameter, "qualifier arrays do not nest"};
      auto v = qualifier_value(e);
      if (!v.ok()) return v.take_error();
      if (!elems.empty() && v->type() != elems.front().type())
        return Error{WbemStatus::kInvalidParameter, "qualifier array elements differ in type"};
      elems.push_back(std::move(*v));
    }
    if (elems.empty()) return Value::array(CimType::kString, {});
    CimType t = elems.front().type();
    return Value::array(t, std::move(elems));
  }
  if (j.is_boolean()) return Value::boolean(j.get<bool>());
  if (j.is_number_unsigned()) return Value::uint32(static_cast<uint32_t>(j.get<uint64_t>()));
  if (j.is_number_integer()) return Value::sint32(static_cast<int32_t>(j.get<int64_t>()));
  if (j.is_string()) return Value::string(j.get<std::string>());
  return Error{WbemStatus::kInvalidParameter,
               "qualifier value must be a boolean, integer or string"};
}

std::vector<Qualifier> parse_qualifiers(const json& obj, std::string* err) {
  std::vector<Qualifier> out;
  if (!obj.contains("qualifiers")) return out;
  for (auto& [k, v] : obj["qualifiers"].items()) {
    auto val = qualifier_value(v);
    if (!val.ok()) {
      *err = "qualifier " + k + ": " + val.error().message;
      return out;
    }
    out.push_back({k, std::move(*val)});
  }
  return out;
}

// "uint32", "string[]", "object"
bool parse_type(const std::string& text, CimType* type, bool* array) {
  std::string t = text;
  *array = false;
  if (t.size() > 2 && t.compare(t.size() - 2, 2, "[]") == 0) {
    *array = true;
    t.resize(t.size() - 2);
  }
  auto parsed = parse_cim_type(t);
  if (!parsed) return false;
  *type = *parsed;
  return true;
}

}  // namespace

const Schema& Schema::builtin() {
  static const Schema schema = [] {
    auto r = load({kSchemaSources, kSchemaSources + kSchemaSourceCount});
    if (!r.ok()) {
      // The built-in schema is part of the program; a broken one is a build defect.
      std::fprintf(stderr, "lwmi: built-in schema is invalid: %s\n", r.error().message.c_str());
      std::abort();
    }
    return std::move(r).value();
  }();
  return schema;
}

Result<Schema> Schema::load(const std::vector<std::string_view>& documents) {
  struct Raw {
    json doc;
    std::shared_ptr<ClassDecl> decl;
    std::vector<PropertyDecl> own;
  };
  std::vector<Raw> raws;
  std::map<std::string, size_t> index;  // lower-case name -> raws index
  for (size_t d = 0; d < documents.size(); ++d) {
    json doc = json::parse(documents[d], nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.contains("classes") || !doc["classes"].is_array())
      return Error{WbemStatus::kInvalidParameter,
                   "schema document " + std::to_string(d) + " is not valid schema JSON"};
    std::string ns = "root\\cimv2";
    if (doc.contains("namespace")) {
      if (!doc["namespace"].is_string() || doc["namespace"].get<std::string>().empty())
        return Error{WbemStatus::kInvalidParameter,
                     "schema document " + std::to_string(d) + ": \"namespace\" is not a name"};
      ns = doc["namespace"].get<std::string>();
      for (char& ch : ns)
        if (ch == '/') ch = '\\';
    }
    for (const auto& c : doc["classes"]) {
      Raw raw;
      raw.decl = std::make_shared<ClassDecl>();
      ClassDecl& cls = *raw.decl;
      cls.namespace_path = ns;
      cls.name = c.value("name", "");
      if (cls.name.empty())
        return Error{WbemStatus::kInvalidParameter, "schema class without a name"};
      auto where = [&](const std::string& what) {
        return Error{WbemStatus::kInvalidParameter, "schema class " + cls.name + ": " + what};
      };
      cls.superclass = c.value("superclass", "");
      cls.abstract = c.value("abstract", false);
      cls.description = c.value("description", "");
      std::string err;
      cls.qualifiers = parse_qualifiers(c, &err);
      if (!err.empty()) return where(err);
      for (const auto& p : c.value("properties", json::array())) {
        PropertyDecl prop;
        prop.name = p.value("name", "");
        if (!parse_type(p.value("type", ""), &prop.type, &prop.is_array))
          return where("property " + prop.name + " has an unknown type");
        prop.key = p.value("key", false);
        prop.embedded_class = p.value("embedded_class", "");
        prop.units = p.value("units", "");
        if (p.contains("max_len")) prop.max_len = p["max_len"].get<uint32_t>();
        for (const auto& pr : p.value("privileges", json::array()))
          prop.privileges.push_back(pr.get<std::string>());
        prop.description = p.value("description", "");
        prop.origin = cls.name;
        prop.qualifiers = parse_qualifiers(p, &err);
        if (!err.empty()) return where(err);
        if (prop.key) prop.qualifiers.push_back({"Key", Value::boolean(true)});
        if (prop.max_len) prop.qualifiers.push_back({"MaxLen", Value::uint32(*prop.max_len)});
        if (!prop.units.empty()) prop.qualifiers.push_back({"Units", Value::string(prop.units)});
        if (!prop.privileges.empty()) {
          std::vector<Value> privs;
          for (auto& s : prop.privileges) privs.push_back(Value::string(s));
          prop.qualifiers.push_back({"Privileges", Value::array(CimType::kString, privs)});
        }
        raw.own.push_back(std::move(prop));
      }
      for (const auto& m : c.value("methods", json::array())) {
        MethodDecl method;
        method.name = m.value("name", "");
        method.is_static = m.value("static", false);
        method.description = m.value("description", "");
        for (const auto& pr : m.value("privileges", json::array()))
          method.privileges.push_back(pr.get<std::string>());
        method.qualifiers = parse_qualifiers(m, &err);
        if (!err.empty()) return where("method " + method.name + ": " + err);
        for (const auto& p : m.value("parameters", json::array())) {
          ParameterDecl param;
          param.name = p.value("name", "");
          if (!parse_type(p.value("type", ""), &param.type, &param.is_array))
            return where("method " + method.name + " parameter " + param.name +
                         " has an unknown type");
          param.in = p.value("in", false);
          param.out = p.value("out", false);
          param.embedded_class = p.value("embedded_class", "");
          param.description = p.value("description", "");
          param.qualifiers = parse_qualifiers(p, &err);
          if (!err.empty())
            return where("method " + method.name + " parameter " + param.name + ": " + err);
          method.parameters.push_back(std::move(param));
        }
        cls.methods.push_back(std::move(method));
      }
      std::string key = base::to_lower(cls.name);
      if (index.count(key)) return where("declared twice");
      index[key] = raws.size();
      raws.push_back(std::move(raw));
    }
  }
  // Resolve ancestry and flatten inherited properties.
  Schema schema;
  for (auto& raw : raws) {
    ClassDecl& cls = *raw.decl;
    std::vector<const Raw*> chain;  // nearest ancestor first
    std::string sup = cls.superclass;
    while (!sup.empty()) {
      auto it = index.find(base::to_lower(sup));
      if (it == index.end())
        return Error{WbemStatus::kInvalidParameter,
                     "schema class " + cls.name + ": unknown superclass " + sup};
      const Raw* anc = &raws[it->second];
      if (chain.size() > 32)
        return Error{WbemStatus::kInvalidParameter,
                     "schema class " + cls.name + ": superclass cycle"};
      chain.push_back(anc);
      cls.derivation.push_back(anc->decl->name);
      sup = anc->decl->superclass;
    }
    std::vector<PropertyDecl> props;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
      for (const auto& p : (*it)->own) props.push_back(p);
    for (const auto& p : raw.own) {
      auto dup = std::find_if(props.begin(), props.end(),
                              [&](const PropertyDecl& q) { return base::iequals(q.name, p.name); });
      if (dup != props.end())
        *dup = p;  // an override
      else
        props.push_back(p);
    }
    std::sort(props.begin(), props.end(), [](const PropertyDecl& a, const PropertyDecl& b) {
      return base::icompare(a.name, b.name) < 0;
    });
    cls.properties = std::move(props);
    // Methods are inherited too (none of the CIM ancestors declare any today).
    for (const Raw* anc : chain)
      for (const auto& m : anc->decl->methods)
        if (!cls.method(m.name)) cls.methods.push_back(m);
    schema.classes_.push_back(raw.decl);
  }
  return schema;
}

std::shared_ptr<const ClassDecl> Schema::find(std::string_view name) const {
  for (const auto& c : classes_)
    if (base::iequals(c->name, name)) return c;
  return nullptr;
}

std::vector<std::shared_ptr<const ClassDecl>> Schema::subclasses_of(std::string_view cls) const {
  std::vector<std::shared_ptr<const ClassDecl>> out;
  for (const auto& c : classes_)
    if (!c->abstract && c->is_a(cls)) out.push_back(c);
  return out;
}

}  // namespace lwmi::cim
