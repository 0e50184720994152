// WMI object paths: a hand-written parser (one function per grammar element, errors carry the
// byte offset) and the formatter that writes the normalised form back.
//
// Grammar (no whitespace anywhere outside quoted values; names are [A-Za-z_][A-Za-z0-9_]*, at
// most 255 characters; "winmgmts:" is matched case-insensitively):
//
//   path      := moniker | body
//   moniker   := "winmgmts:" [ "{" settings "}" [ "!" body ] | body ]
//   body      := "{" inner "}" | inner            (braces wrap the whole path, not nested)
//   inner     := server [ sep namespace ] [ ":" objref ]
//              | namespace-with-backslash [ ":" objref ]
//              | name ":" objref                  (one-segment namespace)
//              | objref
//   server    := ( "\\" | "//" ) host             host: [A-Za-z0-9._-]+; sep is "\" or "/" alike
//   namespace := name { sep name }                stored with "\" separators
//   objref    := class [ "." key "=" value { "," key "=" value } | "=" value | "=@" ]
//   value     := '"' chars '"' | "'" chars "'" | [-]digits | TRUE | FALSE
//
// Decisions the public header leaves open:
//  * A moniker always names a full path: a missing server becomes "." and a missing namespace
//    becomes the default namespace "root\cimv2". `winmgmts:` alone is the namespace path
//    \\.\root\cimv2. The security settings in braces are checked for balanced parentheses and
//    otherwise skipped (ObjectPath has no field for them).
//  * `\\server` and `\\server:Class` (no namespace) are accepted and mean the server's default
//    namespace; to_string() writes them back the same way, so they round-trip.
//  * `root\cimv2` without a server is a namespace path; a single name without ':' is a class.
//  * "winmgmts:" anywhere but the very start is rejected, so that a one-segment namespace called
//    "winmgmts" can never be written out as something that reads back as a moniker.
//  * URL escapes (%20) are NOT decoded: '%' is a literal character inside quoted values. Decoding
//    would make "%41" and "A" the same key and break parse → relative() → parse round trips.
//  * same_path() ignores the server (whether "." and "myhost" are the same machine is not a
//    syntactic question) and compares namespaces only when both paths have one.
#include "lwmi/object_path.h"

#include <cstdint>
#include <optional>
#include <string>

#include "base/strings.h"

namespace lwmi {
namespace {

constexpr size_t kMaxNameLength = 255;
constexpr std::string_view kMoniker = "winmgmts:";
constexpr std::string_view kDefaultNamespace = "root\\cimv2";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_name_start(char c) {
  return is_alpha(c) || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c);
}
bool is_host_char(char c) {
  return is_name_char(c) || c == '.' || c == '-';
}

/// How a character is shown in a message: 'x', '\t', or byte 0xNN when not printable.
std::string describe(char c) {
  switch (c) {
    case '\t':
      return "'\\t'";
    case '\n':
      return "'\\n'";
    case '\r':
      return "'\\r'";
    case '\v':
      return "'\\v'";
    case '\f':
      return "'\\f'";
    case '\'':
      return "\"'\"";
    default:
      break;
  }
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static const char kHex[] = "0123456789ABCDEF";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 15];
}

/// A piece of input quoted for a message, shortened when long.
std::string excerpt(std::string_view s) {
  constexpr size_t kMax = 40;
  if (s.size() <= kMax) return "'" + std::string(s) + "'";
  return "'" + std::string(s.substr(0, kMax)) + "...'";
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<ObjectPath> run() {
    ObjectPath p;
    if (!path(&p)) return std::move(*err_);
    return p;
  }

 private:
  // ---- errors -------------------------------------------------------------------------------

  bool fail(size_t pos, const std::string& msg) {
    err_ = Error{WbemStatus::kInvalidObjectPath,
                 "invalid object path at column " + std::to_string(pos + 1) + ": " + msg, pos};
    return false;
  }

  bool whitespace(size_t pos) {
    return fail(pos, "unexpected character " + describe(s_[pos]) +
                         " (whitespace is not allowed in object paths)");
  }

  /// "expected <what> but found <char | end of path>"; whitespace gets its own message.
  bool expected(size_t pos, const std::string& what) {
    if (pos < s_.size() && is_space(s_[pos])) return whitespace(pos);
    std::string found = pos < s_.size() ? describe(s_[pos]) : "end of path";
    return fail(pos, "expected " + what + " but found " + found);
  }

  // ---- scanning -----------------------------------------------------------------------------

  /// End of the path, or of the braced part when inside {…}.
  bool at_end() const { return pos_ >= s_.size() || (braced_ && s_[pos_] == '}'); }
  std::string end_desc() const { return braced_ ? "'}'" : "end of path"; }
  bool peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }

  /// Reads [A-Za-z_][A-Za-z0-9_]* (possibly empty) at pos_.
  std::string_view read_name() {
    size_t start = pos_;
    if (pos_ < s_.size() && is_name_start(s_[pos_])) {
      ++pos_;
      while (pos_ < s_.size() && is_name_char(s_[pos_])) ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }

  /// Checks a name read at `start`: non-empty and not too long. `noun` is "class name"…
  bool check_name(size_t start, std::string_view name, const std::string& noun,
                  const std::string& context) {
    if (name.empty()) return expected(start, "a " + noun + context);
    if (name.size() > kMaxNameLength)
      return fail(start, noun + " is longer than " + std::to_string(kMaxNameLength) +
                             " characters (" + std::to_string(name.size()) + ")");
    return true;
  }

  // ---- grammar ------------------------------------------------------------------------------

  bool path(ObjectPath* p) {
    if (s_.empty()) return fail(0, "empty path");
    if (s_.size() >= kMoniker.size() && base::iequals(s_.substr(0, kMoniker.size()), kMoniker)) {
      pos_ = kMoniker.size();
      if (!moniker(p)) return false;
      if (p->server.empty()) p->server = ".";
      if (p->namespace_path.empty()) p->namespace_path = std::string(kDefaultNamespace);
      return true;
    }
    return body(p);
  }

  /// After "winmgmts:": optional {security settings} then "!" and a path, or just a path.
  bool moniker(ObjectPath* p) {
    if (pos_ >= s_.size()) return true;  // winmgmts: alone
    if (!peek('{')) return body(p);
    if (!security_settings()) return false;
    if (pos_ >= s_.size()) return true;  // winmgmts:{...} alone
    if (!peek('!')) return expected(pos_, "'!' after the security settings");
    ++pos_;
    if (pos_ >= s_.size()) return expected(pos_, "an object path after '!'");
    return body(p);
  }

  /// {impersonationLevel=impersonate,(Debug,!Security)}: skipped, parentheses must balance.
  bool security_settings() {
    size_t open = pos_++;
    size_t depth = 0;
    for (; pos_ < s_.size(); ++pos_) {
      char c = s_[pos_];
      if (is_space(c)) return whitespace(pos_);
      if (c == '{') return fail(pos_, "unexpected '{' inside the security settings");
      if (c == '(') {
        ++depth;
      } else if (c == ')') {
        if (depth == 0) return fail(pos_, "unmatched ')' in the security settings");
        --depth;
      } else if (c == '}') {
        if (depth > 0) return expected(pos_, "')' to close the privilege list");
        ++pos_;
        return true;
      }
    }
    return fail(s_.size(), "unterminated security settings starting at column " +
                               std::to_string(open + 1) + " (expected '}')");
  }

  /// A path, optionally wrapped in braces: {Win32_Process='1234'}.
  bool body(ObjectPath* p) {
    if (!peek('{')) return inner(p);  // inner() stops only at the end of the text
    size_t open = pos_++;
    braced_ = true;
    if (!inner(p)) return false;
    if (!peek('}'))
      return fail(pos_, "expected '}' to close the '{' at column " + std::to_string(open + 1) +
                            " but found end of path");
    ++pos_;
    braced_ = false;
    if (pos_ < s_.size()) return expected(pos_, "end of path after '}'");
    return true;
  }

  bool inner(ObjectPath* p) {
    if (at_end()) return expected(pos_, "a class name, namespace or server path");
    char c = s_[pos_];
    if (c == '\\' || c == '/') return server_path(p, c);
    size_t start = pos_;
    std::string_view name = read_name();
    if (name.empty()) return expected(start, "a class name, namespace or server path");
    if (peek('\\')) {
      // root\cimv2[:objref]
      if (!check_name(start, name, "namespace name", "")) return false;
      p->namespace_path = std::string(name);
      ++pos_;
      return namespace_rest(p, '\\');
    }
    if (peek(':')) {
      // root:objref — a one-segment namespace
      if (base::iequals(name, "winmgmts"))
        return fail(start,
                    "the moniker prefix 'winmgmts:' is only allowed at the start of the path");
      if (!check_name(start, name, "namespace name", "")) return false;
      p->namespace_path = std::string(name);
      ++pos_;
      return objref(p, " after ':'");
    }
    if (!check_name(start, name, "class name", "")) return false;
    p->class_name = std::string(name);
    return objref_rest(p);
  }

  /// \\server[\namespace][:objref] or //server[/namespace][:objref]; `sep` is '\' or '/'.
  bool server_path(ObjectPath* p, char sep) {
    std::string two(2, sep);
    if (pos_ + 1 >= s_.size() || s_[pos_ + 1] != sep)
      return expected(pos_ + 1, std::string("'") + sep + "' after '" + sep +
                                    "' (a server path starts with " + two + "server)");
    pos_ += 2;
    size_t start = pos_;
    while (pos_ < s_.size() && is_host_char(s_[pos_])) ++pos_;
    std::string_view host = s_.substr(start, pos_ - start);
    if (host.empty()) return expected(start, "a server name after '" + two + "'");
    if (host.size() > kMaxNameLength)
      return fail(start, "server name is longer than " + std::to_string(kMaxNameLength) +
                             " characters (" + std::to_string(host.size()) + ")");
    p->server = std::string(host);
    if (at_end()) return true;  // \\server: the server's default namespace
    if (peek(':')) {
      ++pos_;
      return objref(p, " after ':'");
    }
    if (!peek(sep))
      return expected(pos_, std::string("'") + sep + "', ':' or " + end_desc() +
                                " after server name " + excerpt(host));
    ++pos_;
    size_t seg = pos_;
    std::string_view name = read_name();
    if (!check_name(seg, name, "namespace name", std::string(" after '") + sep + "'")) return false;
    p->namespace_path = std::string(name);
    if (peek(sep)) {
      ++pos_;
      return namespace_rest(p, sep);
    }
    return namespace_end(p, sep, name);
  }

  /// After "first<sep>": more segments, then ':' objref or the end.
  bool namespace_rest(ObjectPath* p, char sep) {
    for (;;) {
      size_t seg = pos_;
      std::string_view name = read_name();
      if (!check_name(seg, name, "namespace name", std::string(" after '") + sep + "'"))
        return false;
      p->namespace_path += '\\';
      p->namespace_path += name;
      if (!peek(sep)) return namespace_end(p, sep, name);
      ++pos_;
    }
  }

  bool namespace_end(ObjectPath* p, char sep, std::string_view last) {
    if (at_end()) return true;  // namespace path
    if (peek(':')) {
      ++pos_;
      return objref(p, " after ':'");
    }
    return expected(pos_, std::string("'") + sep + "', ':' or " + end_desc() +
                              " after namespace name '" + std::string(last) + "'");
  }

  /// Class[.keys | =value | =@] after ':'.
  bool objref(ObjectPath* p, const std::string& context) {
    size_t start = pos_;
    std::string_view name = read_name();
    if (!check_name(start, name, "class name", context)) return false;
    p->class_name = std::string(name);
    return objref_rest(p);
  }

  bool objref_rest(ObjectPath* p) {
    if (at_end()) return true;  // class path
    if (peek('.')) {
      ++pos_;
      return key_list(p);
    }
    if (!peek('='))
      return expected(pos_,
                      "'.', '=' or " + end_desc() + " after class name '" + p->class_name + "'");
    ++pos_;
    if (peek('@')) {
      ++pos_;
      p->singleton = true;
      if (!at_end()) return expected(pos_, end_desc() + " after '@'");
      return true;
    }
    Value v;
    if (!value(&v, "a key value or '@' after '='")) return false;
    p->keys.push_back(KeyBinding{"", std::move(v)});
    if (at_end()) return true;
    if (peek(','))
      return fail(pos_,
                  "an unnamed key (Class=value) cannot be combined with other keys; name every "
                  "key (Class.Key=value,...)");
    return expected(pos_, end_desc() + " after the key value");
  }

  bool key_list(ObjectPath* p) {
    const char* context = " after '.'";
    for (;;) {
      size_t start = pos_;
      std::string_view name = read_name();
      if (!check_name(start, name, "key name", context)) return false;
      for (const KeyBinding& k : p->keys)
        if (base::iequals(k.name, name))
          return fail(start, "duplicate key '" + std::string(name) + "'");
      std::string quoted = "'" + std::string(name) + "'";
      if (!peek('=')) return expected(pos_, "'=' after key name " + quoted);
      ++pos_;
      if (peek('@'))
        return fail(
            pos_,
            "'@' is only allowed for a singleton (Class=@), not as the value of key " + quoted);
      Value v;
      if (!value(&v, "a value for key " + quoted + " after '='")) return false;
      p->keys.push_back(KeyBinding{std::string(name), std::move(v)});
      if (at_end()) return true;
      if (!peek(','))
        return expected(pos_, "',' or " + end_desc() + " after the value of key " + quoted);
      ++pos_;
      context = " after ','";
    }
  }

  /// "text" | 'text' | [-]digits | TRUE | FALSE.
  bool value(Value* out, const std::string& what) {
    if (pos_ >= s_.size()) return expected(pos_, what);
    char c = s_[pos_];
    if (c == '"' || c == '\'') return quoted(out);
    if (c == '-' || is_digit(c)) return integer(out);
    if (is_name_start(c)) {
      size_t start = pos_;
      std::string_view word = read_name();
      if (base::iequals(word, "TRUE") || base::iequals(word, "FALSE")) {
        *out = Value::boolean(base::iequals(word, "TRUE"));
        return true;
      }
      return fail(start, "unquoted value " + excerpt(word) +
                             ": string values must be quoted (\"...\" or '...'); bare values "
                             "may only be decimal integers, TRUE or FALSE");
    }
    return expected(pos_, what);
  }

  /// Backslash escapes the next character, whatever it is. '%' is literal (no URL decoding).
  bool quoted(Value* out) {
    size_t open = pos_;
    char q = s_[pos_++];
    std::string text;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) break;
        text += s_[pos_ + 1];
        pos_ += 2;
        continue;
      }
      ++pos_;
      if (c == q) {
        *out = Value::string(std::move(text));
        return true;
      }
      text += c;
    }
    return fail(s_.size(), "unterminated quoted value starting at column " +
                               std::to_string(open + 1) + " (expected a closing " + describe(q) +
                               ")");
  }

  /// Decimal only: sint64, or uint64 above INT64_MAX.
  bool integer(Value* out) {
    size_t start = pos_;
    bool negative = peek('-');
    if (negative) ++pos_;
    size_t digits = pos_;
    while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    if (pos_ == digits) return expected(pos_, "a digit after '-'");
    if (pos_ < s_.size()) {
      char c = s_[pos_];
      if ((c == 'x' || c == 'X') && pos_ == digits + 1 && s_[digits] == '0')
        return fail(start, "hexadecimal integers are not allowed in object paths (use decimal)");
      if (c == '.')
        return fail(pos_,
                    "unexpected character '.' in integer value (real numbers are not "
                    "allowed as key values)");
      if (is_name_char(c))
        return fail(pos_, "unexpected character " + describe(c) +
                              " in integer value (integers are decimal digits only; quote "
                              "string values)");
    }
    std::string_view text = s_.substr(start, pos_ - start);
    uint64_t magnitude = 0;
    bool overflow = false;
    for (size_t i = digits; i < pos_ && !overflow; ++i) {
      auto d = static_cast<uint64_t>(s_[i] - '0');
      if (magnitude > (UINT64_MAX - d) / 10)
        overflow = true;
      else
        magnitude = magnitude * 10 + d;
    }
    constexpr uint64_t kMinMagnitude = static_cast<uint64_t>(INT64_MAX) + 1;
    if (overflow || (negative && magnitude > kMinMagnitude))
      return fail(start, "integer value " + excerpt(text) +
                             " is out of range (-9223372036854775808 to 18446744073709551615)");
    if (negative)
      *out =
          Value::sint64(magnitude == kMinMagnitude ? INT64_MIN : -static_cast<int64_t>(magnitude));
    else if (magnitude > static_cast<uint64_t>(INT64_MAX))
      *out = Value::uint64(magnitude);
    else
      *out = Value::sint64(static_cast<int64_t>(magnitude));
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  bool braced_ = false;  ///< inside {…}: '}' ends the path
  std::optional<Error> err_;
};

/// A key value as it is written in a path.
std::string format_value(const Value& v) {
  if (!v.is_null() && !v.is_array() && (is_integer(v.type()) || v.type() == CimType::kBoolean))
    return v.to_text();
  // Strings, datetimes, references, reals and NULL (as "") are written quoted.
  std::string text = v.to_text();
  std::string out = "\"";
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

/// An integer as sign + magnitude, from an integer value or a string holding a decimal integer.
struct Integer {
  bool negative;
  uint64_t magnitude;
  bool operator==(const Integer&) const = default;
};

std::optional<Integer> integer_of(const Value& v) {
  if (v.is_null() || v.is_array()) return std::nullopt;
  if (is_signed_integer(v.type())) {
    int64_t i = v.as_i64();
    if (i < 0) return Integer{true, 0 - static_cast<uint64_t>(i)};
    return Integer{false, static_cast<uint64_t>(i)};
  }
  if (is_unsigned_integer(v.type())) return Integer{false, v.as_u64()};
  if (v.type() == CimType::kString) {
    std::string_view s = v.as_string();
    bool negative = !s.empty() && s[0] == '-';
    auto magnitude = base::parse_u64(negative ? s.substr(1) : s);
    if (!magnitude) return std::nullopt;
    return Integer{negative && *magnitude != 0, *magnitude};
  }
  return std::nullopt;
}

/// Integers numerically (a string holding a decimal number matches the number: Handle="3168"
/// and Handle=3168 name the same process), everything else as case-insensitive text.
bool same_value(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
  bool a_int = is_integer(a.type()), b_int = is_integer(b.type());
  if (a_int || b_int) {
    auto x = integer_of(a), y = integer_of(b);
    if (x && y) return *x == *y;
  }
  return base::iequals(a.to_text(), b.to_text());
}

}  // namespace

Result<ObjectPath> ObjectPath::parse(std::string_view text) {
  return Parser(text).run();
}

const KeyBinding* ObjectPath::key(std::string_view name) const {
  if (keys.size() == 1 && keys[0].name.empty()) return &keys[0];
  for (const KeyBinding& k : keys)
    if (base::iequals(k.name, name)) return &k;
  return nullptr;
}

std::string ObjectPath::relative() const {
  std::string out = class_name;
  if (singleton) return out + "=@";
  if (keys.size() == 1 && keys[0].name.empty()) return out + "=" + format_value(keys[0].value);
  for (size_t i = 0; i < keys.size(); ++i) {
    out += i == 0 ? '.' : ',';
    out += keys[i].name;
    out += '=';
    out += format_value(keys[i].value);
  }
  return out;
}

// \\server\namespace:relative; \\server:relative when the namespace is empty (the server's
// default namespace); namespace:relative without a server. A namespace path has no ":relative".
std::string ObjectPath::to_string() const {
  std::string out;
  if (!server.empty()) {
    out = "\\\\" + server;
    if (!namespace_path.empty()) out += "\\" + namespace_path;
  } else {
    out = namespace_path;
  }
  if (class_name.empty()) return out;
  if (out.empty()) return relative();
  return out + ":" + relative();
}

bool same_path(const ObjectPath& a, const ObjectPath& b) {
  if (!base::iequals(a.class_name, b.class_name)) return false;
  if (!a.namespace_path.empty() && !b.namespace_path.empty() &&
      !base::iequals(a.namespace_path, b.namespace_path))
    return false;
  if (a.singleton != b.singleton || a.keys.size() != b.keys.size()) return false;
  if (a.keys.size() == 1 && (a.keys[0].name.empty() || b.keys[0].name.empty() ||
                             base::iequals(a.keys[0].name, b.keys[0].name)))
    return same_value(a.keys[0].value, b.keys[0].value);
  for (const KeyBinding& k : a.keys) {
    const KeyBinding* other = nullptr;
    for (const KeyBinding& o : b.keys)
      if (base::iequals(o.name, k.name)) other = &o;
    if (other == nullptr || !same_value(k.value, other->value)) return false;
  }
  return true;
}

}  // namespace lwmi
