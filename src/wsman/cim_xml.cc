// wsman/cim_xml.cc — class definitions as CIM-XML (DMTF DSP0201): written for a GetClass
// response, read back from one (libxml2 tree).
#include "wsman/cim_xml.h"

#include <cstring>
#include <functional>
#include <string_view>
#include <vector>

#include "base/strings.h"
#include "cim/schema.h"
#include "wsman/xml.h"
#include "wsman/xsd.h"

namespace lwmi::wsman {

namespace {

using base::iequals;
using xml::attr;
using xml::elements;
using xml::escape;
using xml::escaped;
using xml::local;
using xml::raw_text;

// ---------------------------------------------------------------------------------------------
// Writing

/// The CIM-XML TYPE of a type; references and embedded objects have none of their own (a
/// reference is a PROPERTY.REFERENCE, an embedded object a string with EmbeddedObject).
std::string cimxml_type(CimType t) {
  if (t == CimType::kObject || t == CimType::kReference) return "string";
  return std::string(cim_type_name(t));
}

class ClassXml {
 public:
  explicit ClassXml(const ClassDecl& cls) : cls_(cls) {}
  std::string out;

  void write() {
    out += "<CLASS NAME=\"" + escaped(cls_.name) + "\"";
    if (!cls_.superclass.empty()) out += " SUPERCLASS=\"" + escaped(cls_.superclass) + "\"";
    out += ">";
    std::vector<Qualifier> q = cls_.qualifiers;
    if (cls_.abstract && !find(q, "Abstract"))
      q.insert(q.begin(), Qualifier{"Abstract", Value::boolean(true)});
    if (!cls_.description.empty() && !find(q, "Description"))
      q.push_back({"Description", Value::string(cls_.description)});
    for (const auto& x : q) qualifier(x, false);
    for (const auto& p : cls_.properties) property(p);
    for (const auto& m : cls_.methods) method(m);
    out += "</CLASS>";
  }

 private:
  static const Qualifier* find(const std::vector<Qualifier>& q, std::string_view name) {
    for (const auto& x : q)
      if (iequals(x.name, name)) return &x;
    return nullptr;
  }

  void qualifier(const Qualifier& q, bool propagated) {
    out +=
        "<QUALIFIER NAME=\"" + escaped(q.name) + "\" TYPE=\"" + cimxml_type(q.value.type()) + "\"";
    if (propagated) out += " PROPAGATED=\"true\"";
    out += ">";
    if (q.value.is_null()) {
      // no value
    } else if (q.value.is_array()) {
      out += "<VALUE.ARRAY>";
      for (const Value& e : q.value.elements()) {
        out += "<VALUE>";
        escape(out, xs_text(e));
        out += "</VALUE>";
      }
      out += "</VALUE.ARRAY>";
    } else {
      out += "<VALUE>";
      escape(out, xs_text(q.value));
      out += "</VALUE>";
    }
    out += "</QUALIFIER>";
  }

  void property(const PropertyDecl& p) {
    std::string origin = p.origin.empty() ? cls_.name : p.origin;
    bool propagated = !iequals(origin, cls_.name);
    const char* element = p.type == CimType::kReference ? "PROPERTY.REFERENCE"
                          : p.is_array                  ? "PROPERTY.ARRAY"
                                                        : "PROPERTY";
    out += std::string("<") + element + " NAME=\"" + escaped(p.name) + "\"";
    if (p.type == CimType::kReference) {
      if (!p.embedded_class.empty()) out += " REFERENCECLASS=\"" + escaped(p.embedded_class) + "\"";
    } else {
      out += " TYPE=\"" + cimxml_type(p.type) + "\"";
    }
    out += " CLASSORIGIN=\"" + escaped(origin) + "\"";
    if (propagated) out += " PROPAGATED=\"true\"";
    if (p.type == CimType::kObject)
      out += std::string(" EmbeddedObject=\"") +
             (p.embedded_class.empty() ? "object" : "instance") + "\"";
    out += ">";
    // The declared qualifiers (the schema loader already lists Key, MaxLen, Units and Privileges
    // there), then whatever the fields say and the list lacks.
    std::vector<Qualifier> q = p.qualifiers;
    if (p.key && !find(q, "Key")) q.push_back({"Key", Value::boolean(true)});
    if (p.max_len && !find(q, "MaxLen")) q.push_back({"MaxLen", Value::uint32(*p.max_len)});
    if (!p.units.empty() && !find(q, "Units")) q.push_back({"Units", Value::string(p.units)});
    if (!p.privileges.empty() && !find(q, "Privileges")) {
      std::vector<Value> privs;
      for (const auto& s : p.privileges) privs.push_back(Value::string(s));
      q.push_back({"Privileges", Value::array(CimType::kString, std::move(privs))});
    }
    if (p.type == CimType::kObject && !p.embedded_class.empty() && !find(q, "EmbeddedInstance"))
      q.push_back({"EmbeddedInstance", Value::string(p.embedded_class)});
    if (!p.description.empty() && !find(q, "Description"))
      q.push_back({"Description", Value::string(p.description)});
    for (const auto& x : q) qualifier(x, propagated);
    out += std::string("</") + element + ">";
  }

  /// The class that declares method `name`: the farthest ancestor that has it.
  std::string method_origin(const std::string& name) const {
    for (auto it = cls_.derivation.rbegin(); it != cls_.derivation.rend(); ++it) {
      auto anc = cim::Schema::builtin().find(*it);
      if (anc && anc->method(name)) return anc->name;
    }
    return cls_.name;
  }

  void method(const MethodDecl& m) {
    std::string origin = method_origin(m.name);
    bool propagated = !iequals(origin, cls_.name);
    out += "<METHOD NAME=\"" + escaped(m.name) + "\" TYPE=\"" + cimxml_type(m.return_type) +
           "\" CLASSORIGIN=\"" + escaped(origin) + "\"";
    if (propagated) out += " PROPAGATED=\"true\"";
    out += ">";
    if (m.is_static) qualifier({"Static", Value::boolean(true)}, propagated);
    if (!m.privileges.empty()) {
      std::vector<Value> privs;
      for (const auto& s : m.privileges) privs.push_back(Value::string(s));
      qualifier({"Privileges", Value::array(CimType::kString, std::move(privs))}, propagated);
    }
    if (!m.description.empty())
      qualifier({"Description", Value::string(m.description)}, propagated);
    // The declared ones (ValueMap / Values of the ReturnValue), unless written above.
    for (const auto& q : m.qualifiers)
      if (!iequals(q.name, "Static") && !iequals(q.name, "Privileges") &&
          !iequals(q.name, "Description"))
        qualifier(q, propagated);
    for (const auto& p : m.parameters) parameter(p);
    out += "</METHOD>";
  }

  void parameter(const ParameterDecl& p) {
    bool ref = p.type == CimType::kReference;
    const char* element = ref && p.is_array ? "PARAMETER.REFARRAY"
                          : ref             ? "PARAMETER.REFERENCE"
                          : p.is_array      ? "PARAMETER.ARRAY"
                                            : "PARAMETER";
    out += std::string("<") + element + " NAME=\"" + escaped(p.name) + "\"";
    if (ref) {
      if (!p.embedded_class.empty()) out += " REFERENCECLASS=\"" + escaped(p.embedded_class) + "\"";
    } else {
      out += " TYPE=\"" + cimxml_type(p.type) + "\"";
    }
    out += ">";
    if (p.in) qualifier({"In", Value::boolean(true)}, false);
    if (p.out) qualifier({"Out", Value::boolean(true)}, false);
    if (p.type == CimType::kObject) {
      if (p.embedded_class.empty())
        qualifier({"EmbeddedObject", Value::boolean(true)}, false);
      else
        qualifier({"EmbeddedInstance", Value::string(p.embedded_class)}, false);
    }
    if (!p.description.empty()) qualifier({"Description", Value::string(p.description)}, false);
    for (const auto& q : p.qualifiers)
      if (!iequals(q.name, "In") && !iequals(q.name, "Out") && !iequals(q.name, "Description") &&
          !iequals(q.name, "EmbeddedObject") && !iequals(q.name, "EmbeddedInstance"))
        qualifier(q, false);
    out += std::string("</") + element + ">";
  }

  const ClassDecl& cls_;
};

// ---------------------------------------------------------------------------------------------
// Reading

/// What is wrong with a CLASS element; the client codec says whose response it was.
Error malformed(std::string what) {
  return Error{WbemStatus::kFailed, std::move(what)};
}

/// A CIM-XML QUALIFIER: its name and typed value (VALUE or VALUE.ARRAY; none = NULL).
Result<Qualifier> cimxml_qualifier(const xmlNode* q) {
  Qualifier out;
  out.name = attr(q, "NAME").value_or("");
  if (out.name.empty()) return malformed("a QUALIFIER without a NAME");
  auto type = parse_cim_type(attr(q, "TYPE").value_or("string"));
  if (!type) return malformed("qualifier " + out.name + " has an unknown TYPE");
  auto scalar = [&](const xmlNode* v) -> Result<Value> {
    std::string t = raw_text(v);
    auto value =
        Value::from_text(*type, *type == CimType::kString ? t : std::string(base::trim(t)));
    if (!value)
      return malformed("qualifier " + out.name + ": '" + t + "' is not a " +
                       std::string(cim_type_name(*type)));
    return *value;
  };
  out.value = Value::null(*type);
  for (xmlNode* k : elements(q)) {
    if (std::strcmp(local(k), "VALUE") == 0) {
      auto v = scalar(k);
      if (!v.ok()) return v.take_error();
      out.value = std::move(*v);
    } else if (std::strcmp(local(k), "VALUE.ARRAY") == 0) {
      std::vector<Value> elems;
      for (xmlNode* e : elements(k)) {
        auto v = scalar(e);
        if (!v.ok()) return v.take_error();
        elems.push_back(std::move(*v));
      }
      out.value = Value::array(*type, std::move(elems));
    }
  }
  return out;
}

/// The qualifiers under `el`, each either taken by `take` (a field of the declaration) or kept.
Result<std::vector<Qualifier>> cimxml_qualifiers(
    const xmlNode* el, const std::function<bool(const Qualifier&)>& take) {
  std::vector<Qualifier> kept;
  for (xmlNode* k : elements(el)) {
    if (std::strcmp(local(k), "QUALIFIER") != 0) continue;
    auto q = cimxml_qualifier(k);
    if (!q.ok()) return q.take_error();
    if (!take(*q)) kept.push_back(std::move(*q));
  }
  return kept;
}

bool is_true(const Value& v) {
  return !v.is_null() && !v.is_array() && v.type() == CimType::kBoolean && v.as_bool();
}

std::string text_of(const Value& v) {
  return v.is_null() ? std::string() : v.to_text();
}

std::vector<std::string> strings_of(const Value& v) {
  std::vector<std::string> out;
  if (v.is_null()) return out;
  if (!v.is_array()) return {v.to_text()};
  for (const auto& e : v.elements()) out.push_back(e.to_text());
  return out;
}

/// TYPE (or a reference) and array-ness of a PROPERTY* / PARAMETER* element.
Result<CimType> cimxml_type(const xmlNode* el, bool reference) {
  if (reference) return CimType::kReference;
  auto t = parse_cim_type(attr(el, "TYPE").value_or(""));
  if (!t)
    return malformed(std::string(local(el)) + " " + attr(el, "NAME").value_or("") +
                     " has an unknown TYPE");
  return *t;
}

Result<PropertyDecl> cimxml_property(const xmlNode* el, const std::string& cls) {
  std::string_view tag = local(el);
  PropertyDecl p;
  p.name = attr(el, "NAME").value_or("");
  auto type = cimxml_type(el, tag == "PROPERTY.REFERENCE");
  if (!type.ok()) return type.take_error();
  p.type = *type;
  p.is_array = tag == "PROPERTY.ARRAY";
  p.embedded_class = attr(el, "REFERENCECLASS").value_or("");
  p.origin = attr(el, "CLASSORIGIN").value_or(cls);
  auto embedded = attr(el, "EmbeddedObject");
  if (embedded && p.type == CimType::kString) p.type = CimType::kObject;
  auto kept = cimxml_qualifiers(el, [&](const Qualifier& q) {
    if (base::iequals(q.name, "Description")) {
      p.description = text_of(q.value);
      return true;
    }
    if (base::iequals(q.name, "EmbeddedInstance")) {
      p.type = CimType::kObject;
      p.embedded_class = text_of(q.value);
      return true;
    }
    if (base::iequals(q.name, "EmbeddedObject")) {
      if (is_true(q.value)) p.type = CimType::kObject;
      return true;
    }
    // Kept in the list too, as the schema loader keeps them.
    if (base::iequals(q.name, "Key")) p.key = is_true(q.value);
    if (base::iequals(q.name, "Units")) p.units = text_of(q.value);
    if (base::iequals(q.name, "MaxLen") && !q.value.is_null() && is_integer(q.value.type()))
      p.max_len = static_cast<uint32_t>(q.value.as_u64());
    if (base::iequals(q.name, "Privileges")) p.privileges = strings_of(q.value);
    return false;
  });
  if (!kept.ok()) return kept.take_error();
  p.qualifiers = std::move(*kept);
  return p;
}

Result<ParameterDecl> cimxml_parameter(const xmlNode* el) {
  std::string_view tag = local(el);
  ParameterDecl p;
  p.name = attr(el, "NAME").value_or("");
  bool ref = tag == "PARAMETER.REFERENCE" || tag == "PARAMETER.REFARRAY";
  auto type = cimxml_type(el, ref);
  if (!type.ok()) return type.take_error();
  p.type = *type;
  p.is_array = tag == "PARAMETER.ARRAY" || tag == "PARAMETER.REFARRAY";
  p.embedded_class = attr(el, "REFERENCECLASS").value_or("");
  auto kept = cimxml_qualifiers(el, [&](const Qualifier& q) {
    if (base::iequals(q.name, "In")) {
      p.in = is_true(q.value);
    } else if (base::iequals(q.name, "Out")) {
      p.out = is_true(q.value);
    } else if (base::iequals(q.name, "Description")) {
      p.description = text_of(q.value);
    } else if (base::iequals(q.name, "EmbeddedInstance")) {
      p.type = CimType::kObject;
      p.embedded_class = text_of(q.value);
    } else if (base::iequals(q.name, "EmbeddedObject")) {
      if (is_true(q.value)) p.type = CimType::kObject;
    } else {
      return false;
    }
    return true;
  });
  if (!kept.ok()) return kept.take_error();
  p.qualifiers = std::move(*kept);
  return p;
}

Result<MethodDecl> cimxml_method(const xmlNode* el) {
  MethodDecl m;
  m.name = attr(el, "NAME").value_or("");
  if (auto t = parse_cim_type(attr(el, "TYPE").value_or("uint32"))) m.return_type = *t;
  auto kept = cimxml_qualifiers(el, [&](const Qualifier& q) {
    if (base::iequals(q.name, "Static")) {
      m.is_static = is_true(q.value);
    } else if (base::iequals(q.name, "Privileges")) {
      m.privileges = strings_of(q.value);
    } else if (base::iequals(q.name, "Description")) {
      m.description = text_of(q.value);
    } else {
      return false;
    }
    return true;
  });
  if (!kept.ok()) return kept.take_error();
  m.qualifiers = std::move(*kept);
  for (xmlNode* k : elements(el)) {
    if (std::string_view(local(k)).rfind("PARAMETER", 0) != 0) continue;
    auto p = cimxml_parameter(k);
    if (!p.ok()) return p.take_error();
    m.parameters.push_back(std::move(*p));
  }
  return m;
}

}  // namespace

std::string class_cimxml(const ClassDecl& cls) {
  ClassXml x(cls);
  x.write();
  return std::move(x.out);
}

Result<std::shared_ptr<ClassDecl>> class_from_cimxml(const xmlNode* el) {
  auto cls = std::make_shared<ClassDecl>();
  cls->name = attr(el, "NAME").value_or("");
  if (cls->name.empty()) return malformed("the CLASS has no NAME");
  cls->superclass = attr(el, "SUPERCLASS").value_or("");
  auto kept = cimxml_qualifiers(el, [&](const Qualifier& q) {
    if (base::iequals(q.name, "Description")) {
      cls->description = text_of(q.value);
      return true;
    }
    if (base::iequals(q.name, "Abstract")) cls->abstract = is_true(q.value);
    return false;
  });
  if (!kept.ok()) return kept.take_error();
  cls->qualifiers = std::move(*kept);
  for (xmlNode* k : elements(el)) {
    std::string_view tag = local(k);
    if (tag.rfind("PROPERTY", 0) == 0) {
      auto p = cimxml_property(k, cls->name);
      if (!p.ok()) return p.take_error();
      cls->properties.push_back(std::move(*p));
    } else if (tag == "METHOD") {
      auto m = cimxml_method(k);
      if (!m.ok()) return m.take_error();
      cls->methods.push_back(std::move(*m));
    }
  }
  return cls;
}

}  // namespace lwmi::wsman
