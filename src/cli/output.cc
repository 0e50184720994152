#include "cli/output.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <ctime>

#include "base/strings.h"
#include "cim/instance_json.h"
#include "wsman/xml.h"

namespace lwmi::cli {
namespace {

std::vector<std::string> columns_for(const Instance& inst, const std::vector<std::string>& cols) {
  if (!cols.empty()) {
    // Column headers as the schema spells the names (a query may say "processid").
    std::vector<std::string> out;
    for (const auto& c : cols) {
      const PropertyDecl* p = inst.cls().property(c);
      out.push_back(p ? p->name : c);
    }
    return out;
  }
  // A class object (SELECT * FROM meta_class) has no values: what describes it is its system
  // properties.
  if (inst.is_class()) return {"__CLASS", "__SUPERCLASS", "__DYNASTY", "__PROPERTY_COUNT"};
  std::vector<std::string> out;
  for (auto& [name, v] : inst.properties()) out.push_back(name);
  return out;
}

/// A property's text as it is (CSV quotes it).
std::string raw_cell(const Instance& inst, const std::string& name) {
  auto v = inst.get(name);
  return v ? v->to_text() : std::string();
}

/// A property's text as table and list show it.
std::string cell(const Instance& inst, const std::string& name) {
  return display_text(raw_cell(inst, name));
}

/// The length of the valid UTF-8 sequence at the start of `s` and its code point; 0 when the
/// first byte does not begin one (overlong forms, surrogates and code points above U+10FFFF are
/// invalid).
size_t utf8_sequence(std::string_view s, uint32_t* cp) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t n;
  uint32_t min;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, min = 0x80, *cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, min = 0x800, *cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, min = 0x10000, *cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (b(i) & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return n;
}

/// Characters a terminal acts on rather than shows, or that make text read differently from
/// what it holds (line separators, bidirectional overrides).
bool unprintable(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

class TableFormatter : public Formatter {
 public:
  TableFormatter(std::ostream& out, bool node) : out_(out), node_(node) {}
  void begin(const std::vector<std::string>& columns) override { columns_ = columns; }
  void add(const Instance& inst) override {
    if (!started_) {
      columns_ = columns_for(inst, columns_);
      if (node_) columns_.insert(columns_.begin(), "Node");
      headers_.clear();
      for (const auto& c : columns_) headers_.push_back(display_text(c));
      started_ = true;
    }
    std::vector<std::string> row;
    for (const auto& c : columns_)
      row.push_back(node_ && c == "Node" ? display_text(inst.server()) : cell(inst, c));
    rows_.push_back(std::move(row));
  }
  void end() override {
    if (rows_.empty()) return;
    std::vector<size_t> width(columns_.size());
    for (size_t i = 0; i < headers_.size(); ++i) width[i] = headers_[i].size();
    for (const auto& r : rows_)
      for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    auto line = [&](const std::vector<std::string>& r) {
      std::string s;
      for (size_t i = 0; i < r.size(); ++i) {
        s += r[i];
        if (i + 1 < r.size()) s.append(width[i] - r[i].size() + 2, ' ');
      }
      while (!s.empty() && s.back() == ' ') s.pop_back();
      out_ << s << '\n';
    };
    line(headers_);
    for (const auto& r : rows_) line(r);
    out_.flush();
  }

 private:
  std::ostream& out_;
  bool node_;
  bool started_ = false;
  std::vector<std::string> columns_;  ///< property names (a server may send any)
  std::vector<std::string> headers_;  ///< as shown
  std::vector<std::vector<std::string>> rows_;
};

class CsvFormatter : public Formatter {
 public:
  explicit CsvFormatter(std::ostream& out) : out_(out) {}
  void begin(const std::vector<std::string>& columns) override { columns_ = columns; }
  void add(const Instance& inst) override {
    if (!started_) {
      columns_ = columns_for(inst, columns_);
      out_ << "Node";
      for (const auto& c : columns_) out_ << ',' << csv_field(c);
      out_ << "\r\n";
      started_ = true;
    }
    out_ << csv_field(inst.server());
    for (const auto& c : columns_) out_ << ',' << csv_field(raw_cell(inst, c));
    out_ << "\r\n";
  }
  void end() override { out_.flush(); }

 private:
  std::ostream& out_;
  bool started_ = false;
  std::vector<std::string> columns_;
};

class ListFormatter : public Formatter {
 public:
  ListFormatter(std::ostream& out, bool node) : out_(out), node_(node) {}
  void begin(const std::vector<std::string>& columns) override { columns_ = columns; }
  void add(const Instance& inst) override {
    out_ << "\n\n";
    if (node_) out_ << "Node=" << display_text(inst.server()) << '\n';
    for (const auto& c : columns_for(inst, columns_))
      out_ << display_text(c) << '=' << cell(inst, c) << '\n';
  }
  void end() override {
    out_ << "\n\n";
    out_.flush();
  }

 private:
  std::ostream& out_;
  bool node_;
  std::vector<std::string> columns_;
};

class JsonFormatter : public Formatter {
 public:
  JsonFormatter(std::ostream& out, bool all_system) : out_(out), all_system_(all_system) {}
  void begin(const std::vector<std::string>&) override {}
  void add(const Instance& inst) override { out_ << cim::instance_json(inst, all_system_) << '\n'; }
  void end() override { out_.flush(); }

 private:
  std::ostream& out_;
  bool all_system_;
};

/// `s` escaped for XML or HTML text and double-quoted attributes (the WS-Man codec's escaping:
/// invalid UTF-8 and characters XML cannot carry become U+FFFD).
std::string esc(std::string_view s) {
  std::string out;
  wsman::xml::escape(out, s);
  return out;
}

/// The CIM-XML TYPE attribute of a value type: embedded objects travel as strings.
std::string_view cimxml_type(CimType t) {
  return t == CimType::kObject ? std::string_view("string") : cim_type_name(t);
}

/// The text of one scalar VALUE.
std::string cimxml_scalar(const Value& v) {
  return v.is_null() ? std::string() : v.to_text();
}

void cimxml_instance(std::string& out, const Instance& inst, int depth);

/// <VALUE.REFERENCE> for an object path: INSTANCENAME with its key bindings, or CLASSNAME for a
/// class path. The host and namespace are left out (a local reference, as WMI writes them).
/// False when the text is no object path (the property is then written without a value).
bool cimxml_reference(std::string& out, const std::string& text) {
  auto path = ObjectPath::parse(text);
  if (!path.ok() || path->class_name.empty()) return false;
  out += "<VALUE.REFERENCE>";
  if (!path->is_instance_path()) {
    out += "<CLASSNAME NAME=\"" + esc(path->class_name) + "\"/>";
  } else {
    out += "<INSTANCENAME CLASSNAME=\"" + esc(path->class_name) + "\">";
    for (const KeyBinding& k : path->keys) {
      const char* vt = k.value.type() == CimType::kBoolean ? "boolean"
                       : is_integer(k.value.type())        ? "numeric"
                                                           : "string";
      out += "<KEYBINDING NAME=\"" + esc(k.name) + "\"><KEYVALUE VALUETYPE=\"" + vt + "\">" +
             esc(cimxml_scalar(k.value)) + "</KEYVALUE></KEYBINDING>";
    }
    out += "</INSTANCENAME>";
  }
  out += "</VALUE.REFERENCE>";
  return true;
}

/// One property of an instance as CIM-XML (DSP0201): PROPERTY, PROPERTY.ARRAY or
/// PROPERTY.REFERENCE; NULL has no VALUE.
void cimxml_property(std::string& out, const Instance& inst, const std::string& name,
                     const Value& v, int depth) {
  const PropertyDecl* decl = inst.cls().property(name);
  CimType type = decl ? decl->type : v.type();
  bool array = decl ? decl->is_array : v.is_array();
  std::string attrs = " NAME=\"" + esc(name) + "\"";
  if (decl) {
    std::string origin = decl->origin.empty() ? inst.class_name() : decl->origin;
    attrs += " CLASSORIGIN=\"" + esc(origin) + "\"";
    if (!base::iequals(origin, inst.class_name())) attrs += " PROPAGATED=\"true\"";
  }
  if (type == CimType::kReference && !array) {
    if (decl && !decl->embedded_class.empty())
      attrs += " REFERENCECLASS=\"" + esc(decl->embedded_class) + "\"";
    out += "<PROPERTY.REFERENCE" + attrs + ">";
    if (!v.is_null()) cimxml_reference(out, v.as_string());
    out += "</PROPERTY.REFERENCE>";
    return;
  }
  attrs += " TYPE=\"" + std::string(cimxml_type(type)) + "\"";
  if (type == CimType::kObject) attrs += " EmbeddedObject=\"instance\"";
  // One element's VALUE: an embedded object is its INSTANCE as escaped text.
  auto value = [&](const Value& e) {
    out += "<VALUE>";
    if (e.type() == CimType::kObject && !e.is_null()) {
      const auto& obj = e.as_object();
      std::string inner;
      if (obj && obj->valid() && depth < 8) cimxml_instance(inner, *obj, depth + 1);
      out += esc(inner);
    } else {
      out += esc(cimxml_scalar(e));
    }
    out += "</VALUE>";
  };
  if (array) {
    out += "<PROPERTY.ARRAY" + attrs + ">";
    if (!v.is_null() && v.is_array()) {
      out += "<VALUE.ARRAY>";
      for (const Value& e : v.elements()) value(e);
      out += "</VALUE.ARRAY>";
    }
    out += "</PROPERTY.ARRAY>";
    return;
  }
  out += "<PROPERTY" + attrs + ">";
  if (!v.is_null()) value(v);
  out += "</PROPERTY>";
}

/// An instance as a CIM-XML <INSTANCE> with every present property, in declaration order.
void cimxml_instance(std::string& out, const Instance& inst, int depth) {
  out += "<INSTANCE CLASSNAME=\"" + esc(inst.class_name()) + "\">";
  for (const auto& [name, v] : inst.properties()) cimxml_property(out, inst, name, v, depth);
  out += "</INSTANCE>";
}

/// As cimxml_instance, limited to `columns` when given (system properties as strings).
std::string cimxml_projection(const Instance& inst, const std::vector<std::string>& columns) {
  if (columns.empty()) {
    std::string out;
    cimxml_instance(out, inst, 0);
    return out;
  }
  std::string out = "<INSTANCE CLASSNAME=\"" + esc(inst.class_name()) + "\">";
  for (const auto& c : columns_for(inst, columns)) {
    auto v = inst.get(c);
    cimxml_property(out, inst, c, v ? *v : Value::null(CimType::kString), 0);
  }
  out += "</INSTANCE>";
  return out;
}

std::string this_host() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

/// wmic's STARTTIME: local time as MM-DD-YYYYThh:mm:ss.
std::string start_time_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%m-%d-%YT%H:%M:%S", &tm);
  return buf;
}

/// wmic's /format:xml document, streamed: the COMMAND header at the first instance (or at the
/// end when there is none), a RESULTS element per run of instances from one node.
class XmlFormatter : public Formatter {
 public:
  XmlFormatter(std::ostream& out, const OutputOptions& o) : out_(out), o_(o) {}
  void begin(const std::vector<std::string>& columns) override { columns_ = columns; }
  void add(const Instance& inst) override {
    header();
    if (!node_ || *node_ != inst.server()) {
      if (node_) out_ << "</CIM></RESULTS>";
      node_ = inst.server();
      out_ << "<RESULTS NODE=\"" << esc(*node_) << "\"><CIM>";
    }
    out_ << cimxml_projection(inst, columns_);
  }
  void end() override {
    header();
    if (node_) out_ << "</CIM></RESULTS>";
    out_ << "</COMMAND>\n";
    out_.flush();
  }

 private:
  void header() {
    if (started_) return;
    started_ = true;
    std::string from = o_.issued_from.empty() ? this_host() : o_.issued_from;
    std::string when = o_.start_time.empty() ? start_time_now() : o_.start_time;
    out_ << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         << "<COMMAND SEQUENCENUM=\"1\" ISSUEDFROM=\"" << esc(from) << "\" STARTTIME=\""
         << esc(when) << "\" EVERYCOUNT=\"0\"><REQUEST><COMMANDLINE>" << esc(o_.command_line)
         << "</COMMANDLINE></REQUEST>";
  }

  std::ostream& out_;
  OutputOptions o_;
  bool started_ = false;
  std::optional<std::string> node_;
  std::vector<std::string> columns_;
};

/// One <INSTANCE> per line.
class RawXmlFormatter : public Formatter {
 public:
  explicit RawXmlFormatter(std::ostream& out) : out_(out) {}
  void begin(const std::vector<std::string>& columns) override { columns_ = columns; }
  void add(const Instance& inst) override { out_ << cimxml_projection(inst, columns_) << '\n'; }
  void end() override { out_.flush(); }

 private:
  std::ostream& out_;
  std::vector<std::string> columns_;
};

/// wmic's /format:htable: an HTML page, a table per node headed by the node and its count.
class HtableFormatter : public Formatter {
 public:
  HtableFormatter(std::ostream& out, const OutputOptions& o) : out_(out), o_(o) {}
  void begin(const std::vector<std::string>& columns) override { columns_ = columns; }
  void add(const Instance& inst) override {
    if (!started_) {
      columns_ = columns_for(inst, columns_);
      started_ = true;
    }
    auto it = std::find_if(nodes_.begin(), nodes_.end(),
                           [&](const Node& n) { return n.name == inst.server(); });
    if (it == nodes_.end()) it = nodes_.insert(nodes_.end(), Node{inst.server(), {}});
    std::string row = "<tr><td>" + esc(inst.server()) + "</td>";
    for (const auto& c : columns_) row += "<td>" + esc(raw_cell(inst, c)) + "</td>";
    row += "</tr>\n";
    it->rows.push_back(std::move(row));
  }
  void end() override {
    if (nodes_.empty()) return;
    std::string title = o_.command_line.empty() ? "lwmic" : o_.command_line;
    out_ << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"/><title>" << esc(title)
         << "</title></head><body>\n";
    for (const Node& n : nodes_) {
      out_ << "<table border=\"1\">\n<tr><td colspan=\"" << columns_.size() + 1
           << "\"><b>Node:</b> " << esc(n.name) << " - <b>" << n.rows.size()
           << (n.rows.size() == 1 ? " Instance" : " Instances")
           << "</b></td></tr>\n<tr><th>Node</th>";
      for (const auto& c : columns_) out_ << "<th>" << esc(c) << "</th>";
      out_ << "</tr>\n";
      for (const auto& r : n.rows) out_ << r;
      out_ << "</table>\n";
    }
    out_ << "</body></html>\n";
    out_.flush();
  }

 private:
  struct Node {
    std::string name;
    std::vector<std::string> rows;
  };
  std::ostream& out_;
  OutputOptions o_;
  bool started_ = false;
  std::vector<std::string> columns_;
  std::vector<Node> nodes_;  ///< in the order they first answered
};

}  // namespace

std::optional<Format> parse_format(std::string_view name) {
  if (name.size() > 4 && base::iequals(name.substr(name.size() - 4), ".xsl")) name.remove_suffix(4);
  if (base::iequals(name, "table")) return Format::kTable;
  if (base::iequals(name, "csv")) return Format::kCsv;
  if (base::iequals(name, "list")) return Format::kList;
  if (base::iequals(name, "json")) return Format::kJson;
  if (base::iequals(name, "htable")) return Format::kHtable;
  if (base::iequals(name, "xml")) return Format::kXml;
  if (base::iequals(name, "rawxml")) return Format::kRawXml;
  return std::nullopt;
}

std::string display_text(std::string_view s) {
  bool quote = s.rfind("$'", 0) == 0;
  for (size_t i = 0; i < s.size() && !quote;) {
    uint32_t cp = 0;
    size_t n = utf8_sequence(s.substr(i), &cp);
    if (n == 0 || unprintable(cp)) quote = true;
    i += n;
  }
  if (!quote) return std::string(s);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "$'";
  auto hex = [&](unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  };
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t n = utf8_sequence(s.substr(i), &cp);
    if (n == 0) {  // one byte of invalid UTF-8
      hex(static_cast<unsigned char>(s[i++]));
      continue;
    }
    if (cp == '\\' || cp == '\'') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (unprintable(cp)) {
      for (size_t k = 0; k < n; ++k) hex(static_cast<unsigned char>(s[i + k]));
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out += '\'';
  return out;
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::unique_ptr<Formatter> make_formatter(const OutputOptions& o, std::ostream& out) {
  switch (o.format) {
    case Format::kTable:
      return std::make_unique<TableFormatter>(out, o.node_column);
    case Format::kCsv:
      return std::make_unique<CsvFormatter>(out);
    case Format::kList:
      return std::make_unique<ListFormatter>(out, o.node_column);
    case Format::kJson:
      return std::make_unique<JsonFormatter>(out, o.system_properties);
    case Format::kHtable:
      return std::make_unique<HtableFormatter>(out, o);
    case Format::kXml:
      return std::make_unique<XmlFormatter>(out, o);
    case Format::kRawXml:
      return std::make_unique<RawXmlFormatter>(out);
  }
  return nullptr;
}

}  // namespace lwmi::cli
