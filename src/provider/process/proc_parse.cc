#include "provider/process/proc_parse.h"

#include "os/pid_namespace.h"

#include "base/strings.h"

namespace lwmi::provider::process {
namespace {

std::optional<uint64_t> kb_value(std::string_view rest) {
  rest = base::trim(rest);
  if (rest.size() > 3 && rest.substr(rest.size() - 3) == " kB") rest.remove_suffix(3);
  return base::parse_u64(base::trim(rest));
}

}  // namespace

std::optional<ProcStat> parse_stat(std::string_view text) {
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return std::nullopt;
  ProcStat s;
  auto pid = base::parse_i64(base::trim(text.substr(0, open)));
  if (!pid) return std::nullopt;
  s.pid = static_cast<int32_t>(*pid);
  s.comm = std::string(text.substr(open + 1, close - open - 1));
  // Fields from 3 on, separated by single spaces.
  std::string_view rest = text.substr(close + 1);
  std::vector<std::string_view> f;
  f.reserve(52);
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\n')) ++i;
    size_t j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') ++j;
    if (j > i) f.push_back(rest.substr(i, j - i));
    i = j;
  }
  // field N is f[N - 3]; need at least up to 24 (rss)
  if (f.size() < 22) return std::nullopt;
  auto u = [&](int n) -> uint64_t {
    auto v = base::parse_u64(f[n - 3]);
    return v ? *v : 0;
  };
  auto s64 = [&](int n) -> int64_t {
    auto v = base::parse_i64(f[n - 3]);
    return v ? *v : 0;
  };
  if (f[0].size() != 1) return std::nullopt;
  s.state = f[0][0];
  s.ppid = static_cast<int32_t>(s64(4));
  s.session = static_cast<int32_t>(s64(6));
  s.flags = static_cast<uint32_t>(u(9));
  s.minflt = u(10);
  s.majflt = u(12);
  s.utime = u(14);
  s.stime = u(15);
  s.priority = s64(18);
  s.nice = s64(19);
  s.num_threads = s64(20);
  s.starttime = u(22);
  s.vsize = u(23);
  s.rss = s64(24);
  if (f.size() >= 41 - 2) s.policy = static_cast<uint32_t>(u(41));
  return s;
}

std::optional<ProcStatus> parse_status(std::string_view text) {
  ProcStatus st;
  bool any = false;
  for (auto line : base::split(text, '\n')) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    any = true;
    auto key = line.substr(0, colon);
    auto val = line.substr(colon + 1);
    if (key == "Tgid") {
      if (auto v = base::parse_i64(base::trim(val))) st.tgid = static_cast<int32_t>(*v);
    } else if (key == "Uid" || key == "Gid") {
      uint32_t* dst = key == "Uid" ? st.uid : st.gid;
      int n = 0;
      for (auto tok : base::split(base::trim(val), '\t')) {
        if (n >= 4) break;
        if (auto v = base::parse_u64(base::trim(tok))) dst[n++] = static_cast<uint32_t>(*v);
      }
      if (key == "Uid" && n == 4) st.has_uid = true;
    } else if (key == "VmPeak") {
      st.vm_peak = kb_value(val);
    } else if (key == "VmSize") {
      st.vm_size = kb_value(val);
    } else if (key == "VmHWM") {
      st.vm_hwm = kb_value(val);
    } else if (key == "VmRSS") {
      st.vm_rss = kb_value(val);
    } else if (key == "VmData") {
      st.vm_data = kb_value(val);
    } else if (key == "VmStk") {
      st.vm_stk = kb_value(val);
    } else if (key == "NSpid") {
      st.nspid = os::parse_nspid(line);
    }
  }
  if (!any) return std::nullopt;
  return st;
}

ProcIo parse_io(std::string_view text) {
  ProcIo io;
  for (auto line : base::split(text, '\n')) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto key = line.substr(0, colon);
    auto v = base::parse_u64(base::trim(line.substr(colon + 1)));
    if (key == "rchar")
      io.rchar = v;
    else if (key == "wchar")
      io.wchar = v;
    else if (key == "syscr")
      io.syscr = v;
    else if (key == "syscw")
      io.syscw = v;
  }
  return io;
}

std::vector<std::string> split_cmdline(std::string_view raw) {
  std::vector<std::string> argv;
  if (raw.empty()) return argv;
  if (raw.back() == '\0') raw.remove_suffix(1);
  size_t start = 0;
  for (size_t i = 0; i <= raw.size(); ++i) {
    if (i == raw.size() || raw[i] == '\0') {
      argv.emplace_back(raw.substr(start, i - start));
      start = i + 1;
    }
  }
  return argv;
}

std::string join_windows_command_line(const std::vector<std::string>& argv) {
  std::string out;
  for (size_t a = 0; a < argv.size(); ++a) {
    if (a) out += ' ';
    const std::string& arg = argv[a];
    bool needs = arg.empty() || arg.find_first_of(" \t\n\v\"") != std::string::npos;
    if (!needs) {
      out += arg;
      continue;
    }
    out += '"';
    size_t backslashes = 0;
    for (char c : arg) {
      if (c == '\\') {
        ++backslashes;
      } else if (c == '"') {
        out.append(backslashes * 2 + 1, '\\');
        out += '"';
        backslashes = 0;
      } else {
        out.append(backslashes, '\\');
        out += c;
        backslashes = 0;
      }
    }
    out.append(backslashes * 2, '\\');
    out += '"';
  }
  return out;
}

uint32_t base_priority(int64_t nice, uint32_t policy) {
  if (policy == 1 || policy == 2) return 24;  // SCHED_FIFO, SCHED_RR: Realtime
  if (policy == 5) return 4;                  // SCHED_IDLE: Idle
  if (nice < -15) return 24;
  if (nice <= -11) return 13;
  if (nice <= -6) return 10;
  if (nice <= 0) return 8;  // -5..-1 counted as Normal (.NET says BelowNormal, which inverts order)
  if (nice <= 10) return 6;
  return 4;
}

}  // namespace lwmi::provider::process
