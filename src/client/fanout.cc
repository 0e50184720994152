// client/fanout.cc — host lists, outcome classification, and the bounded pool of workers that
// runs one operation on many hosts.
//
// Workers are plain threads, each with its own blocking connection (RemoteServices does
// synchronous HTTP with deadlines): the work per host is a handful of round trips, so a thread
// per concurrent host is simple and cheap at hundreds of hosts; `throttle` bounds them.
#include "lwmi/fanout.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "base/strings.h"
#include "client/remote_services.h"

namespace lwmi {

namespace {

/// `s` with control characters as \xHH, for error messages.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

/// Checks that `node` names a host (as Locator::connect reads it).
Result<std::string> check_node(std::string_view node, const std::string& where) {
  if (node == ".") return std::string(node);
  auto ep = client::parse_node(node);
  if (!ep.ok()) return Error{WbemStatus::kInvalidParameter, where + ": " + ep.error().message};
  return std::string(node);
}

struct Listed {
  std::vector<std::string> nodes;
  std::map<std::string, std::string> first_seen;  ///< node → where it was listed first

  Result<void> add(std::string node, const std::string& where) {
    auto [it, fresh] = first_seen.emplace(node, where);
    if (!fresh)
      return Error{WbemStatus::kInvalidParameter,
                   where + ": host '" + node + "' is listed twice (first at " + it->second + ")"};
    nodes.push_back(std::move(node));
    return {};
  }
};

Result<void> parse_file_into(std::string_view text, std::string_view file_name, Listed* out) {
  size_t line_no = 0;
  size_t before = out->nodes.size();
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    std::string where = std::string(file_name) + ":" + std::to_string(line_no);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF
    // A comment runs from a '#' at the line's start or after a blank to the line's end.
    for (size_t i = 0; i < line.size(); ++i)
      if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
        line = line.substr(0, i);
        break;
      }
    for (unsigned char c : line)
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return Error{WbemStatus::kInvalidParameter,
                     where + ": a control character in '" + printable(line) + "'"};
    // Blanks are spaces and tabs only.
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string_view::npos) continue;
    std::string_view item = line.substr(b, line.find_last_not_of(" \t") - b + 1);
    for (unsigned char c : item) {
      if (c == ' ' || c == '\t')
        return Error{WbemStatus::kInvalidParameter,
                     where + ": one host a line, found '" + std::string(item) + "'"};
      if (c == ',')
        return Error{WbemStatus::kInvalidParameter,
                     where + ": one host a line, found a comma in '" + std::string(item) + "'"};
    }
    if (item.front() == '@')
      return Error{WbemStatus::kInvalidParameter,
                   where + ": '" + std::string(item) + "': a host file cannot include another"};
    auto node = check_node(item, where);
    if (!node.ok()) return node.take_error();
    if (auto r = out->add(std::move(*node), where); !r.ok()) return r;
  }
  if (out->nodes.size() == before)
    return Error{WbemStatus::kInvalidParameter, std::string(file_name) + ": lists no host"};
  return {};
}

}  // namespace

Result<std::vector<std::string>> parse_host_file(std::string_view text,
                                                 std::string_view file_name) {
  Listed listed;
  if (auto r = parse_file_into(text, file_name, &listed); !r.ok()) return r.take_error();
  return std::move(listed.nodes);
}

Result<std::vector<std::string>> parse_host_list(std::string_view arg) {
  Listed listed;
  if (base::trim(arg).empty()) return Error{WbemStatus::kInvalidParameter, "--node: no host given"};
  size_t item_no = 0;
  for (std::string_view rest = arg;;) {
    auto comma = rest.find(',');
    std::string_view item = base::trim(rest.substr(0, comma));
    ++item_no;
    std::string where = "--node item " + std::to_string(item_no);
    if (item.empty())
      return Error{WbemStatus::kInvalidParameter, where + ": empty (two commas, or one at an end)"};
    if (item.front() == '@') {
      std::string file(item.substr(1));
      if (file.empty()) return Error{WbemStatus::kInvalidParameter, where + ": no file after @"};
      std::ifstream in(file, std::ios::binary);
      if (!in)
        return Error{WbemStatus::kInvalidParameter,
                     where + ": cannot read the host file " + file + ": " + std::strerror(errno)};
      std::stringstream ss;
      ss << in.rdbuf();
      std::string text = ss.str();
      if (text.size() > (16u << 20))
        return Error{WbemStatus::kInvalidParameter, file + ": larger than 16 MiB"};
      if (auto r = parse_file_into(text, file, &listed); !r.ok()) return r.take_error();
    } else {
      for (unsigned char c : item)
        if (c <= 0x20 || c == 0x7f)
          return Error{WbemStatus::kInvalidParameter,
                       where + ": '" + printable(item) + "' holds a blank or control character"};
      auto node = check_node(item, where);
      if (!node.ok()) return node.take_error();
      if (auto r = listed.add(std::move(*node), where + " ('" + std::string(item) + "')"); !r.ok())
        return r.take_error();
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return std::move(listed.nodes);
}

const char* outcome_name(HostOutcome outcome) {
  switch (outcome) {
    case HostOutcome::kOk:
      return "ok";
    case HostOutcome::kMethodFailed:
      return "method failed";
    case HostOutcome::kFailed:
      return "failed";
    case HostOutcome::kTimedOut:
      return "timed out";
    case HostOutcome::kUnreachable:
      return "unreachable";
    case HostOutcome::kRefused:
      return "refused";
  }
  return "?";
}

HostOutcome classify(const Error& e) {
  // By the kind net::HttpClient gave the error where it failed; never by its message.
  switch (e.kind) {
    case ErrorKind::kAuthentication:
    case ErrorKind::kCertificate:
      return HostOutcome::kRefused;
    case ErrorKind::kTimeout:
      return HostOutcome::kTimedOut;
    case ErrorKind::kTransport:
      return HostOutcome::kUnreachable;
    case ErrorKind::kWbem:
      break;
  }
  return HostOutcome::kFailed;
}

size_t FanoutSummary::count(HostOutcome outcome) const {
  return static_cast<size_t>(std::count_if(
      hosts.begin(), hosts.end(), [&](const HostReport& h) { return h.outcome == outcome; }));
}

HostOutcome FanoutSummary::worst() const {
  HostOutcome w = HostOutcome::kOk;
  for (const auto& h : hosts) w = std::max(w, h.outcome);
  return w;
}

HostTally FanoutSummary::total() const {
  HostTally t;
  for (const auto& h : hosts) {
    t.instances += h.tally.instances;
    t.calls += h.tally.calls;
    t.returned_zero += h.tally.returned_zero;
    t.returned_nonzero += h.tally.returned_nonzero;
    t.gone += h.tally.gone;
  }
  return t;
}

namespace {

class Context : public HostContext {
 public:
  Context(std::string node, std::mutex* mu, const FanoutCallbacks* cb)
      : node_(std::move(node)), mu_(mu), cb_(cb) {}
  const std::string& node() const override { return node_; }
  Services& services() override { return *services_; }
  void emit(Instance instance) override {
    ++tally.instances;
    instance.set_server(node_);
    if (!cb_->on_instance) return;
    std::lock_guard<std::mutex> lock(*mu_);
    cb_->on_instance(node_, instance);
  }
  void error(Error e) override {
    if (!first_error_) first_error_ = e;
    if (!cb_->on_error) return;
    std::lock_guard<std::mutex> lock(*mu_);
    cb_->on_error(node_, e);
  }
  void note(std::string text) override { notes_.push_back(std::move(text)); }

  std::string node_;
  std::mutex* mu_;
  const FanoutCallbacks* cb_;
  std::unique_ptr<Services> services_;
  std::optional<Error> first_error_;
  std::vector<std::string> notes_;
};

HostReport run_one(const std::string& node, size_t index, const FanoutOptions& options,
                   const HostOperation& op, std::mutex* mu, const FanoutCallbacks* cb) {
  auto start = std::chrono::steady_clock::now();
  HostReport report;
  report.node = node;
  report.index = index;
  Context ctx(node, mu, cb);
  ConnectOptions co = options.connect;
  co.node = node;
  auto fail = [&](Error e) {
    report.outcome = classify(e);
    report.error = std::move(e);
  };
  auto services = Locator::connect(co);
  if (!services.ok()) {
    fail(services.take_error());
  } else {
    ctx.services_ = std::move(*services);
    for (auto& n : ctx.services_->notes()) ctx.notes_.push_back(std::move(n));
    bool ok = true;
    for (const auto& p : options.privileges) {
      auto r = ctx.services_->privileges().enable(p);
      if (r.ok()) continue;
      if (r.error().code == WbemStatus::kPrivilegeNotHeld) {
        ctx.notes_.push_back(r.error().message);
        continue;
      }
      fail(r.take_error());
      ok = false;
      break;
    }
    if (ok && options.enable_held_privileges) {
      if (auto r = ctx.services_->privileges().enable_held(); !r.ok()) {
        fail(r.take_error());
        ok = false;
      }
    }
    if (ok) {
      auto r = op(ctx);
      if (!r.ok())
        fail(r.take_error());
      else if (ctx.first_error_)
        fail(*ctx.first_error_);
      else if (ctx.tally.returned_nonzero)
        report.outcome = HostOutcome::kMethodFailed;
    }
  }
  ctx.services_.reset();  // closes the connection before the host counts as done
  report.tally = ctx.tally;
  report.notes = std::move(ctx.notes_);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace

FanoutSummary run_fanout(const std::vector<std::string>& nodes, const FanoutOptions& options,
                         const HostOperation& op, const FanoutCallbacks& callbacks) {
  FanoutSummary summary;
  summary.hosts.resize(nodes.size());
  std::mutex mu;  // serializes the callbacks
  std::atomic<size_t> next{0};
  size_t done = 0;
  auto worker = [&] {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= nodes.size()) return;
      HostReport r = run_one(nodes[i], i, options, op, &mu, &callbacks);
      std::lock_guard<std::mutex> lock(mu);
      summary.hosts[i] = std::move(r);
      ++done;
      if (callbacks.on_host) callbacks.on_host(summary.hosts[i], done, nodes.size());
    }
  };
  size_t n = std::min(std::max<size_t>(options.throttle, 1), nodes.size());
  if (n <= 1) {
    worker();
    return summary;
  }
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (size_t t = 0; t < n; ++t) {
    try {
      threads.emplace_back(worker);
    } catch (const std::system_error&) {
      break;  // out of threads: the ones running share the work
    }
  }
  if (threads.empty()) worker();
  for (auto& t : threads) t.join();
  return summary;
}

}  // namespace lwmi
