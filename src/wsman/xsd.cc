// wsman/xsd.cc — XML Schema lexical forms: durations, dateTimes and scalar values.
#include "wsman/xsd.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "base/strings.h"
#include "lwmi/datetime.h"

namespace lwmi::wsman {
namespace {

int digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::optional<double> seconds_from_xs_duration(std::string_view text) {
  std::string_view s = base::trim(text);
  if (s.size() < 2 || s[0] != 'P') return std::nullopt;
  size_t i = 1;
  bool in_time = false;
  bool any = false;
  double total = 0;
  // Designators must appear in order: Y M D, then T H M S.
  int last_rank = -1;
  while (i < s.size()) {
    if (s[i] == 'T') {
      if (in_time) return std::nullopt;
      in_time = true;
      ++i;
      if (i >= s.size()) return std::nullopt;  // "P1DT" is invalid
      continue;
    }
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == start || i >= s.size()) return std::nullopt;
    std::string num(s.substr(start, i - start));
    if (num.find('.') != std::string::npos &&
        (num.find('.') != num.rfind('.') || num.front() == '.' || num.back() == '.'))
      return std::nullopt;
    char unit = s[i++];
    double v = std::strtod(num.c_str(), nullptr);
    int rank;
    double factor;
    if (!in_time) {
      if (unit == 'Y')
        rank = 0, factor = 365.0 * 86400;
      else if (unit == 'M')
        rank = 1, factor = 30.0 * 86400;
      else if (unit == 'D')
        rank = 2, factor = 86400;
      else
        return std::nullopt;
    } else {
      if (unit == 'H')
        rank = 3, factor = 3600;
      else if (unit == 'M')
        rank = 4, factor = 60;
      else if (unit == 'S')
        rank = 5, factor = 1;
      else
        return std::nullopt;
    }
    if (rank <= last_rank) return std::nullopt;
    if (num.find('.') != std::string::npos && unit != 'S') return std::nullopt;
    last_rank = rank;
    total += v * factor;
    any = true;
  }
  if (!any || !std::isfinite(total)) return std::nullopt;
  return total;
}

std::string xs_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "PT%.3fS", seconds);
  return buf;
}

std::optional<std::string> cim_datetime_from_xs(std::string_view s) {
  s = base::trim(s);
  // yyyy-mm-ddThh:mm:ss[.f+][Z|±hh:mm]
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2), h = digits(s, 11, 2),
      mi = digits(s, 14, 2), se = digits(s, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || se < 0) return std::nullopt;
  size_t i = 19;
  std::string frac;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') frac += s[i++];
    if (frac.empty()) return std::nullopt;
  }
  frac.resize(6, '0');
  int offset = 0;
  if (i < s.size()) {
    if (s[i] == 'Z' && i + 1 == s.size()) {
      offset = 0;
    } else if ((s[i] == '+' || s[i] == '-') && i + 6 == s.size() && s[i + 3] == ':') {
      int oh = digits(s, i + 1, 2), om = digits(s, i + 4, 2);
      if (oh < 0 || om < 0) return std::nullopt;
      offset = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
    } else {
      return std::nullopt;
    }
  }
  char buf[96];  // ample for any int the format could be given; DateTime::parse checks ranges
  std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d.%s%c%03d", y, mo, d, h, mi, se,
                frac.c_str(), offset < 0 ? '-' : '+', offset < 0 ? -offset : offset);
  auto parsed = DateTime::parse(buf);
  if (!parsed.ok()) return std::nullopt;
  return std::string(buf);
}

std::optional<std::string> cim_interval_from_xs(std::string_view s) {
  s = base::trim(s);
  if (s.size() < 2 || s[0] != 'P') return std::nullopt;
  size_t i = 1;
  bool in_time = false;
  uint64_t micros = 0;
  bool any = false;
  while (i < s.size()) {
    if (s[i] == 'T') {
      in_time = true;
      ++i;
      continue;
    }
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == start || i >= s.size()) return std::nullopt;
    std::string num(s.substr(start, i - start));
    char unit = s[i++];
    std::string whole = num.substr(0, num.find('.'));
    std::string frac = num.find('.') == std::string::npos ? "" : num.substr(num.find('.') + 1);
    auto w = base::parse_u64(whole.empty() ? "0" : whole);
    if (!w) return std::nullopt;
    uint64_t factor;
    if (!in_time && unit == 'D')
      factor = 86400000000ULL;
    else if (in_time && unit == 'H')
      factor = 3600000000ULL;
    else if (in_time && unit == 'M')
      factor = 60000000ULL;
    else if (in_time && unit == 'S')
      factor = 1000000ULL;
    else
      return std::nullopt;
    if (!frac.empty() && unit != 'S') return std::nullopt;
    micros += *w * factor;
    if (!frac.empty()) {
      frac.resize(6, '0');
      auto f = base::parse_u64(frac);
      if (!f) return std::nullopt;
      micros += *f;
    }
    any = true;
  }
  if (!any) return std::nullopt;
  return DateTime::interval(micros).to_string();
}

std::optional<XsTime> xs_from_cim_datetime(std::string_view cim) {
  auto parsed = DateTime::parse(cim);
  if (!parsed.ok() || parsed->has_wildcards() || cim.size() != 25) return std::nullopt;
  const std::string t(cim);
  if (parsed->is_interval()) {
    unsigned long long days = std::strtoull(t.substr(0, 8).c_str(), nullptr, 10);
    return XsTime{true, "P" + std::to_string(days) + "DT" + t.substr(8, 2) + "H" + t.substr(10, 2) +
                            "M" + t.substr(12, 2) + "." + t.substr(15, 6) + "S"};
  }
  int off = parsed->offset_minutes();
  char sign = off < 0 ? '-' : '+';
  int a = off < 0 ? -off : off;
  char zone[16];
  std::snprintf(zone, sizeof zone, "%c%02d:%02d", sign, a / 60, a % 60);
  return XsTime{false, t.substr(0, 4) + "-" + t.substr(4, 2) + "-" + t.substr(6, 2) + "T" +
                           t.substr(8, 2) + ":" + t.substr(10, 2) + ":" + t.substr(12, 2) + "." +
                           t.substr(15, 6) + zone};
}

std::string xs_text(const Value& v) {
  switch (v.type()) {
    case CimType::kBoolean:
      return v.as_bool() ? "true" : "false";
    case CimType::kReal32:
    case CimType::kReal64: {
      double d = v.as_real();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "INF" : "-INF";
      return v.to_text();
    }
    default:
      return v.to_text();
  }
}

}  // namespace lwmi::wsman
