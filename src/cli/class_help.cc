#include "cli/class_help.h"

#include <algorithm>
#include <array>

#include "base/strings.h"
#include "cli/output.h"

namespace lwmi::cli {
namespace {

/// The narrowest description column kept beside a table's other columns.
constexpr size_t kMinDescription = 40;

/// Characters a terminal shows for `s` (UTF-8 code points; display_text() leaves no controls).
size_t shown_width(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

/// `s` padded with spaces to `width` shown characters.
std::string pad(const std::string& s, size_t width) {
  size_t w = shown_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer word stays whole).
std::vector<std::string> wrap(const std::string& text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find(' ', i);
    if (j == std::string::npos) j = text.size();
    std::string word = text.substr(i, j - i);
    i = j + 1;
    if (word.empty()) continue;
    if (!line.empty() && shown_width(line) + 1 + shown_width(word) > width) {
      lines.push_back(std::move(line));
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

/// Prints `text` wrapped in the column that starts at `indent`; the first line continues a line
/// already `indent` characters long.
void wrapped(std::ostream& out, const std::string& text, size_t indent, size_t width) {
  size_t room = width > indent + 30 ? width - indent : 30;  // never narrower than 30
  auto lines = wrap(text, room);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out << std::string(indent, ' ');
    out << lines[i] << '\n';
  }
  if (lines.empty()) out << '\n';
}

/// A type as MOF writes it: uint32, string[], Win32_ProcessStartup (an embedded instance's
/// class), ref Class.
std::string type_text(CimType type, bool is_array, const std::string& embedded_class) {
  std::string t;
  if (type == CimType::kObject)
    t = embedded_class.empty() ? "object" : display_text(embedded_class);
  else if (type == CimType::kReference)
    t = embedded_class.empty() ? "ref" : "ref " + display_text(embedded_class);
  else
    t = std::string(cim_type_name(type));
  return is_array ? t + "[]" : t;
}

const Qualifier* find(const std::vector<Qualifier>& qs, std::string_view name) {
  for (const auto& q : qs)
    if (base::iequals(q.name, name)) return &q;
  return nullptr;
}

bool flag(const std::vector<Qualifier>& qs, std::string_view name) {
  const Qualifier* q = find(qs, name);
  return q && !q->value.is_null() && q->value.type() == CimType::kBoolean && q->value.as_bool();
}

/// ValueMap / Values as (value, meaning) pairs; Values alone are numbered from 0, as CIM says.
std::vector<std::pair<std::string, std::string>> value_map(const std::vector<Qualifier>& qs) {
  std::vector<std::pair<std::string, std::string>> out;
  const Qualifier* values = find(qs, "Values");
  if (!values || values->value.is_null() || !values->value.is_array()) return out;
  const Qualifier* map = find(qs, "ValueMap");
  const auto& names = values->value.elements();
  for (size_t i = 0; i < names.size(); ++i) {
    std::string key = std::to_string(i);
    if (map && !map->value.is_null() && map->value.is_array()) {
      if (i >= map->value.elements().size()) break;
      key = map->value.elements()[i].to_text();
    }
    out.emplace_back(std::move(key), names[i].to_text());
  }
  return out;
}

/// "key, read", "read/write"…: what the qualifiers say of a property's use.
std::string access_text(const PropertyDecl& p) {
  std::vector<std::string> parts;
  if (p.key || flag(p.qualifiers, "Key")) parts.push_back("key");
  bool read = flag(p.qualifiers, "Read"), write = flag(p.qualifiers, "Write");
  if (read && write)
    parts.push_back("read/write");
  else if (write)
    parts.push_back("write");
  else if (read)
    parts.push_back("read");
  std::string s;
  for (const auto& x : parts) s += (s.empty() ? "" : ", ") + x;
  return s;
}

/// The first sentence of a description (up to ". "), for one-line listings.
std::string first_sentence(const std::string& s) {
  auto dot = s.find(". ");
  return dot == std::string::npos ? s : s.substr(0, dot + 1);
}

std::string pairs_text(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string s;
  for (const auto& [k, v] : pairs)
    s += (s.empty() ? "" : ", ") + display_text(k) + "=" + display_text(v);  // kept on one line
  return s;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> return_codes(const ClassDecl& cls,
                                                              const MethodDecl& method) {
  auto codes = value_map(method.qualifiers);
  if (!codes.empty()) return codes;
  // A server whose schema does not declare them: the codes every Win32_Process method shares.
  if (cls.is_a("Win32_Process"))
    return {{"0", "Successful completion"},  {"2", "Access denied"},
            {"3", "Insufficient privilege"}, {"8", "Unknown failure"},
            {"9", "Path not found"},         {"21", "Invalid parameter"}};
  return {};
}

void describe_class(const ClassDecl& cls, std::ostream& out, const ClassHelpOptions& o) {
  auto field = [&](const char* label, const std::string& value) {
    out << pad(label, 13);
    wrapped(out, value, 13, o.width);
  };
  field("Class:", display_text(cls.name) + (cls.abstract ? " (abstract)" : ""));
  if (!cls.superclass.empty()) {
    std::string chain;
    for (const auto& d : cls.derivation) chain += " : " + display_text(d);
    field("Superclass:",
          display_text(cls.superclass) +
              (cls.derivation.size() > 1 ? "  (" + display_text(cls.name) + chain + ")" : ""));
  }
  field("Namespace:", display_text(cls.namespace_path));
  if (!cls.description.empty()) field("Description:", display_text(cls.description));

  if (o.properties) out << "\nProperties (" << cls.properties.size() << "):\n";
  if (o.properties && !cls.properties.empty()) {
    struct Row {
      std::string name, type, units, access, description;
    };
    std::vector<Row> rows;
    Row head{"Name", "Type", "Units", "Access", "Description"};
    size_t wn = head.name.size(), wt = head.type.size(), wu = head.units.size(),
           wa = head.access.size();
    for (const auto& p : cls.properties) {
      Row r;
      r.name = display_text(p.name);
      r.type = type_text(p.type, p.is_array, p.embedded_class);
      r.units = display_text(p.units);
      r.access = access_text(p);
      r.description = display_text(p.description);
      if (!p.privileges.empty()) {
        std::string privs;
        for (const auto& x : p.privileges) privs += (privs.empty() ? "" : ", ") + display_text(x);
        r.description +=
            (r.description.empty() ? "" : " ") + std::string("[privilege: ") + privs + "]";
      }
      if (auto values = value_map(p.qualifiers); !values.empty())
        r.description +=
            (r.description.empty() ? "" : " ") + std::string("Values: ") + pairs_text(values) + ".";
      wn = std::max(wn, shown_width(r.name));
      wt = std::max(wt, shown_width(r.type));
      wu = std::max(wu, shown_width(r.units));
      wa = std::max(wa, shown_width(r.access));
      rows.push_back(std::move(r));
    }
    size_t indent = 2 + wn + 2 + wt + 2 + wu + 2 + wa + 2;
    // Too narrow a column for descriptions: each goes under its row instead, indented.
    const bool below = indent + kMinDescription > o.width;
    auto line = [&](const Row& r) {
      std::string s = "  " + pad(r.name, wn + 2) + pad(r.type, wt + 2) + pad(r.units, wu + 2) +
                      pad(r.access, wa + 2);
      if (r.description.empty() || below) {
        while (!s.empty() && s.back() == ' ') s.pop_back();
        out << s << '\n';
        if (!r.description.empty() && &r != &head) {
          out << std::string(6, ' ');
          wrapped(out, r.description, 6, o.width);
        }
        return;
      }
      out << s;
      wrapped(out, r.description, indent, o.width);
    };
    line(head);
    for (const auto& r : rows) line(r);
  }

  if (!o.methods) return;
  out << "\nMethods (" << cls.methods.size() << "):\n";
  for (const auto& m : cls.methods) {
    // The name and what it needs; the parameters follow, one a line.
    std::string title = "  " + display_text(m.name);
    std::vector<std::string> tags;
    if (m.is_static) tags.push_back("static");
    for (const auto& x : m.privileges) tags.push_back("privilege: " + display_text(x));
    for (size_t i = 0; i < tags.size(); ++i) title += (i ? ", " : "  [") + tags[i];
    if (!tags.empty()) title += "]";
    out << title << '\n';
    if (!m.description.empty()) {
      out << "      ";
      wrapped(out, display_text(m.description), 6, o.width);
    }
    size_t wn = 0, wt = 0;
    for (const auto& p : m.parameters) {
      wn = std::max(wn, shown_width(display_text(p.name)));
      wt = std::max(wt, shown_width(type_text(p.type, p.is_array, p.embedded_class)));
    }
    for (const auto& p : m.parameters) {
      std::string dir = p.in && p.out ? "in/out" : p.in ? "in" : "out";
      std::string s = "      " + pad(dir, 7) + pad(display_text(p.name), wn + 2) +
                      pad(type_text(p.type, p.is_array, p.embedded_class), wt + 2);
      std::string desc = display_text(p.description);
      if (auto values = value_map(p.qualifiers); !values.empty())
        desc += (desc.empty() ? "" : " ") + std::string("Values: ") + pairs_text(values) + ".";
      if (desc.empty()) {
        while (!s.empty() && s.back() == ' ') s.pop_back();
        out << s << '\n';
      } else {
        out << s;
        wrapped(out, desc, shown_width(s), o.width);
      }
    }
    auto codes = return_codes(cls, m);
    out << "      returns " << cim_type_name(m.return_type) << (codes.empty() ? "\n" : ":\n");
    size_t wc = 0;
    for (const auto& [code, meaning] : codes) wc = std::max(wc, shown_width(display_text(code)));
    for (const auto& [code, meaning] : codes) {
      out << "        " << pad(display_text(code), wc + 2);
      wrapped(out, display_text(meaning), 8 + wc + 2, o.width);
    }
  }
}

void list_classes(const std::vector<std::shared_ptr<const ClassDecl>>& classes, std::ostream& out,
                  const ClassHelpOptions& o) {
  std::vector<std::array<std::string, 3>> rows;
  size_t wn = std::string_view("Class").size(), ws = std::string_view("Superclass").size();
  for (const auto& c : classes) {
    if (!c) continue;
    std::array<std::string, 3> r{display_text(c->name), display_text(c->superclass),
                                 display_text(first_sentence(c->description))};
    wn = std::max(wn, shown_width(r[0]));
    ws = std::max(ws, shown_width(r[1]));
    rows.push_back(std::move(r));
  }
  if (rows.empty()) return;
  size_t indent = wn + 2 + ws + 2;
  auto line = [&](const std::array<std::string, 3>& r) {
    std::string s = pad(r[0], wn + 2) + pad(r[1], ws + 2);
    if (r[2].empty()) {
      while (!s.empty() && s.back() == ' ') s.pop_back();
      out << s << '\n';
      return;
    }
    out << s;
    wrapped(out, r[2], indent, o.width);
  };
  line({"Class", "Superclass", "Description"});
  for (const auto& r : rows) line(r);
}

}  // namespace lwmi::cli
