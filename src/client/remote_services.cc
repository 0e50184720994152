// client/remote_services.cc — Services mapped onto the WS-Management client codec, over one
// net::HttpClient (lwmid's Unix socket, HTTP or HTTPS).
#include "client/remote_services.h"
#include "base/mutex.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <deque>
#include <optional>

#include "base/strings.h"
#include "cim/schema.h"
#include "event/subscription_manager.h"
#include "lwmi/object_path.h"
#include "net/certificate.h"
#include "net/cloexec_socket.h"
#include "net/http_client.h"
#include "os/accounts.h"
#include "security/caller.h"
#include "wql/parser.h"

namespace lwmi::client {

namespace asio = boost::asio;
using boost::system::error_code;

namespace wc = wsman::client;

Result<Endpoint> parse_node(std::string_view node) {
  Endpoint e;
  auto bad = [&](const std::string& why) {
    return Error{WbemStatus::kInvalidParameter, "node '" + std::string(node) + "': " + why};
  };
  if (node.rfind("unix:", 0) == 0) {
    e.kind = Endpoint::Kind::kUnix;
    e.path = std::string(node.substr(5));
    if (e.path.empty()) return bad("no socket path after unix:");
    return e;
  }
  std::string_view rest = node;
  bool url = false;
  if (rest.rfind("https://", 0) == 0) {
    rest.remove_prefix(8);
    url = true;
  } else if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
    e.kind = Endpoint::Kind::kHttp;
    e.port = kHttpPort;
    url = true;
  }
  if (url) {
    auto slash = rest.find('/');
    if (slash != std::string_view::npos) {
      e.target = std::string(rest.substr(slash));
      rest = rest.substr(0, slash);
    }
  }
  if (rest.empty()) return bad("no host name");
  std::string_view host = rest, port;
  if (rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unterminated [ in an IPv6 address");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after ]");
      port = after.substr(1);
    }
  } else if (std::count(rest.begin(), rest.end(), ':') == 1) {
    auto colon = rest.find(':');
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }  // more than one ':' without brackets: a bare IPv6 address
  if (host.empty()) return bad("no host name");
  if (!port.empty() || (rest.back() == ':' && rest.front() != '[')) {
    auto p = base::parse_u64(port);
    if (!p || *p == 0 || *p > 65535) return bad("port '" + std::string(port) + "' is not 1-65535");
    e.port = static_cast<uint16_t>(*p);
  }
  e.host = std::string(host);
  return e;
}

bool socket_accepts(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  asio::io_context ioc;
  asio::local::stream_protocol::socket s(ioc);
  error_code ec = net::open_cloexec(s, asio::local::stream_protocol());
  if (!ec) s.connect(asio::local::stream_protocol::endpoint(path), ec);
  return !ec;
}

std::string default_known_hosts_file() {
  std::string home;
  if (const char* h = ::getenv("HOME"); h && *h) home = h;
  if (home.empty())
    if (auto me = os::SystemAccounts().user_with_uid(::geteuid())) home = me->home;
  if (home.empty()) home = "/";
  return home + "/.config/lwmi/known_hosts";
}

namespace {

/// How post() sends a request.
struct Post {
  int server_wait_ms = 0;                     ///< see net::HttpClient::post
  const std::atomic<bool>* cancel = nullptr;  ///< see net::HttpClient::post
  /// The WQL the request carries, when the caller gave it: a fault's position (the server's
  /// <l:Position>) points into it. Any other request's fault loses its position, which points
  /// into text the caller never saw.
  std::string_view query;
};

/// POSTs an envelope: the response body for HTTP 200, the fault's Error for a SOAP fault, else
/// an Error for the HTTP status or the transport failure.
Result<std::string> post(net::HttpClient& http, const std::string& envelope, const Post& how = {}) {
  auto res = http.post(envelope, how.server_wait_ms, how.cancel);
  if (!res.ok()) return res.take_error();
  if (res->status == 200) return std::move(res->body);
  if (auto f = wc::fault_of(res->body)) {
    if (f->position && (how.query.empty() || *f->position > how.query.size())) f->position.reset();
    return *std::move(f);
  }
  return Error{WbemStatus::kFailed,
               http.where() + " answered HTTP " + std::to_string(res->status) + " " + res->reason};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Streams: pull lazily as the caller iterates.

namespace {

class RemoteStream : public InstanceStream {
 public:
  RemoteStream(std::shared_ptr<net::HttpClient> c, wc::Common common, std::string uri,
               wc::EnumerationPage first, std::string server)
      : connection_(std::move(c)),
        common_(std::move(common)),
        uri_(std::move(uri)),
        server_(std::move(server)) {
    take(std::move(first));
  }
  ~RemoteStream() override {
    if (!done_ && !context_.empty()) {
      common_.message_id.clear();
      (void)post(*connection_, wc::release_request(common_, uri_, context_));
    }
  }

  bool next(Instance* out) override {
    while (items_.empty()) {
      if (done_) return false;
      common_.message_id.clear();
      auto body = post(*connection_, wc::pull_request(common_, uri_, context_, 100));
      if (!body.ok()) return fail(body.take_error());
      auto page = wc::parse_enumeration_response(*body);
      if (!page.ok()) return fail(page.take_error());
      take(std::move(*page));
    }
    *out = std::move(items_.front());
    items_.pop_front();
    return true;
  }

 private:
  void take(wc::EnumerationPage page) {
    for (auto& i : page.items) {
      i.set_server(server_);
      items_.push_back(std::move(i));
    }
    if (!page.context.empty()) context_ = page.context;
    if (page.end_of_sequence || page.context.empty()) done_ = true;
  }
  bool fail(Error e) {
    error_ = std::move(e);
    done_ = true;
    items_.clear();
    return false;
  }

  std::shared_ptr<net::HttpClient> connection_;
  wc::Common common_;
  std::string uri_;
  std::string server_;
  std::string context_;
  std::deque<Instance> items_;
  bool done_ = false;
};

/// `server` as the __SERVER of an event and of the objects it embeds (TargetInstance,
/// PreviousInstance, an aggregate's Representative and its own), which come from the same host
/// and reach us without one.
void name_server(Instance& inst, const std::string& server) {
  inst.set_server(server);
  for (size_t i = 0; i < inst.cls().properties.size(); ++i) {
    if (!inst.has(i)) continue;
    const Value& v = inst.at(i);
    if (v.type() != CimType::kObject || v.is_array() || v.is_null()) continue;
    auto copy = std::make_shared<Instance>(*v.as_object());
    name_server(*copy, server);
    inst.set(i, Value::object(std::move(copy)));
  }
}

/// Events over WS-Eventing: Pulls on the subscription's context, each waiting on the server up
/// to the time next() has left (or kPullWait when it waits forever).
class RemoteEventStream : public EventStream {
 public:
  static constexpr double kPullWait = 30;

  /// `server`: the host the events come from (their __SERVER, as RemoteStream's instances).
  RemoteEventStream(std::shared_ptr<net::HttpClient> c, wc::Common common, std::string uri,
                    wc::SubscribeResult sub, std::string server)
      : connection_(std::move(c)),
        common_(std::move(common)),
        uri_(std::move(uri)),
        sub_(std::move(sub)),
        server_(std::move(server)) {}
  ~RemoteEventStream() override {
    if (sub_.identifier.empty()) return;
    common_.message_id.clear();
    common_.timeout_s = 10;
    (void)post(*connection_, wc::unsubscribe_request(common_, uri_, sub_.identifier));
  }

  GuardStatus guard_status() const override {
    if (sub_.guard) return *sub_.guard;
    return {};
  }

  Result<bool> next(Instance* out, int timeout_ms) override {
    using Clock = std::chrono::steady_clock;
    auto start = Clock::now();
    for (bool first = true;; first = false) {
      if (!queue_.empty()) {
        *out = std::move(queue_.front());
        queue_.pop_front();
        return true;
      }
      if (interrupted_.exchange(false)) return false;
      double wait = kPullWait;
      if (timeout_ms >= 0) {
        double left =
            timeout_ms / 1000.0 - std::chrono::duration<double>(Clock::now() - start).count();
        if (left <= 0 && !first) return false;
        wait = std::max(left, 0.0);
      }
      common_.message_id.clear();
      common_.timeout_s = wait;
      auto body = post(*connection_, wc::pull_request(common_, uri_, sub_.context, 100),
                       {static_cast<int>(wait * 1000), &interrupted_});
      if (!body.ok()) {
        const Error& e = body.error();
        // interrupt(): the pull was abandoned (the server answers it when the Unsubscribe the
        // destructor sends comes, or when its wait ends).
        if (e.code == WbemStatus::kCallCancelled && interrupted_.exchange(false)) return false;
        // The server's TimedOut fault: nothing happened, pull again (not the client's own
        // operation timeout, a kTimeout error: the server is stuck).
        if (e.code == WbemStatus::kTimedOut && e.is_wbem()) continue;
        if (e.code == WbemStatus::kQueueOverflow) {
          dropped_ += std::max<uint64_t>(event::SubscriptionManager::dropped_in(e), 1);
          continue;
        }
        return body.take_error();
      }
      if (wc::is_heartbeat(*body)) continue;
      auto page = wc::parse_enumeration_response(*body);
      if (!page.ok()) return page.take_error();
      for (auto& i : page->items) {
        name_server(i, server_);
        queue_.push_back(std::move(i));
      }
      if (page->lost_events) lost_ = *page->lost_events;
      if (!page->context.empty()) sub_.context = page->context;
    }
  }
  /// Ends the Pull under way at once: its connection is closed (the next request opens another;
  /// on the Unix socket lwmid ends the subscription with it).
  void interrupt() override {
    interrupted_ = true;
    connection_->cancel(&interrupted_);
  }
  uint64_t dropped() const override { return dropped_; }
  /// The server's count of kernel events lost (each answered by a rescan there).
  uint64_t lost() const override { return lost_; }

 private:
  std::shared_ptr<net::HttpClient> connection_;
  wc::Common common_;
  std::string uri_;
  wc::SubscribeResult sub_;
  std::string server_;
  std::deque<Instance> queue_;
  uint64_t dropped_ = 0;
  uint64_t lost_ = 0;
  std::atomic<bool> interrupted_{false};
};

std::string local_host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

/// The selectors of an instance path (unnamed bindings take the class's key name, else Handle).
std::vector<wsman::Selector> selectors_of(const ObjectPath& p) {
  std::vector<wsman::Selector> out;
  for (const auto& k : p.keys) {
    std::string name = k.name;
    if (name.empty()) {
      name = "Handle";
      if (auto cls = cim::Schema::builtin().find(p.class_name)) {
        auto keys = cls->key_indices();
        if (!keys.empty()) name = cls->properties[keys.front()].name;
      }
    }
    out.push_back({name, k.value.to_text()});
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RemoteServices

RemoteServices::RemoteServices(std::shared_ptr<net::HttpClient> connection, Endpoint endpoint,
                               std::string host, std::string namespace_path)
    : connection_(std::move(connection)),
      endpoint_(std::move(endpoint)),
      host_(std::move(host)),
      namespace_(std::move(namespace_path)) {}

std::string RemoteServices::namespace_for(std::string_view cls, std::string_view path_ns) const {
  if (!path_ns.empty()) return std::string(path_ns);
  if (!namespace_.empty()) return namespace_;
  if (auto c = cim::Schema::builtin().find(cls)) return c->namespace_path;
  return "root\\cimv2";
}

std::string RemoteServices::uri_for(std::string_view cls, std::string_view path_ns) const {
  return wc::class_uri(cls, namespace_for(cls, path_ns));
}

RemoteServices::~RemoteServices() = default;

Result<std::unique_ptr<RemoteServices>> RemoteServices::connect(const ConnectOptions& options) {
  auto ep = parse_node(options.node);
  if (!ep.ok()) return ep.take_error();
  std::string ns = options.namespace_path;
  if (!ns.empty() && !ClassDecl::same_namespace(ns, "root\\cimv2") &&
      !ClassDecl::same_namespace(ns, "root\\subscription"))
    return Error{WbemStatus::kInvalidNamespace,
                 "namespace '" + options.namespace_path +
                     "' is not served (lwmi serves root\\cimv2 and root\\subscription)"};
  for (char& c : ns)
    if (c == '/') c = '\\';
  while (!ns.empty() && ns.front() == '\\') ns.erase(ns.begin());
  net::HttpClientOptions http;
  http.user = options.user;
  http.password = options.password;
  http.ca_file = options.ca_file;
  http.known_hosts_file =
      options.known_hosts_file.empty() ? default_known_hosts_file() : options.known_hosts_file;
  http.connect_timeout_ms = options.connect_timeout_ms;
  http.operation_timeout_ms = options.operation_timeout_ms;
  auto conn = std::make_shared<net::HttpClient>(*ep, std::move(http));
  std::string host = ep->kind == Endpoint::Kind::kUnix ? local_host_name() : ep->host;
  std::unique_ptr<RemoteServices> s(new RemoteServices(conn, *ep, host, ns));
  auto body = post(*conn, wc::identify_request(s->common()));
  if (!body.ok()) return body.take_error();
  auto product = wc::parse_identify_response(*body);
  if (!product.ok()) return product.take_error();
  s->product_ = std::move(*product);
  conn->commit_pin();
  return s;
}

std::vector<std::string> RemoteServices::notes() const {
  return connection_->notes();
}

wc::Common RemoteServices::common() const {
  wc::Common c;
  c.to = endpoint_.url();
  c.privileges = privileges_;
  return c;
}

Result<Instance> RemoteServices::get_object(std::string_view path,
                                            const std::vector<std::string>& properties) {
  auto p = ObjectPath::parse(path);
  if (!p.ok()) return p.take_error();
  if (!p->is_instance_path() || p->singleton)
    return Error{WbemStatus::kInvalidObjectPath,
                 "'" + std::string(path) + "' names no instance (expected Class.Key=\"value\")"};
  auto body =
      post(*connection_,
           wc::get_request(common(), uri_for(p->class_name, p->namespace_path), selectors_of(*p)));
  if (!body.ok()) return body.take_error();
  auto inst = wc::parse_get_response(*body);
  if (!inst.ok()) return inst.take_error();
  inst->set_server(host_);
  if (properties.empty()) return inst;
  // The projection the caller asked for.
  Instance proj(inst->cls_ptr());
  for (const auto& name : properties) {
    auto idx = inst->cls().property_index(name);
    if (!idx)
      return Error{WbemStatus::kInvalidProperty,
                   "class " + inst->class_name() + " has no property '" + name + "'"};
    if (inst->has(*idx)) proj.set(*idx, inst->at(*idx));
  }
  proj.set_server(host_);
  proj.set_identity(inst->identity());
  return proj;
}

Result<std::unique_ptr<InstanceStream>> RemoteServices::enumerate(const std::string& uri,
                                                                  const std::string& filter,
                                                                  bool callers_query) {
  wc::EnumerateOptions o;
  o.filter = filter;
  o.optimize = true;
  o.max_elements = 100;
  o.object_and_epr = true;
  auto c = common();
  auto body = post(*connection_, wc::enumerate_request(c, uri, o),
                   {.query = callers_query ? std::string_view(filter) : std::string_view()});
  if (!body.ok()) return body.take_error();
  auto page = wc::parse_enumeration_response(*body);
  if (!page.ok()) return page.take_error();
  return std::unique_ptr<InstanceStream>(
      std::make_unique<RemoteStream>(connection_, c, uri, std::move(*page), host_));
}

Result<std::unique_ptr<InstanceStream>> RemoteServices::enumerate_instances(
    std::string_view class_name, const std::vector<std::string>& properties) {
  if (!is_identifier(class_name))
    return Error{WbemStatus::kInvalidClass,
                 "'" + std::string(class_name) + "' is not a class name"};
  if (properties.empty()) return enumerate(uri_for(class_name), "", false);
  std::string wql = "SELECT ";
  for (size_t i = 0; i < properties.size(); ++i) {
    if (!is_identifier(properties[i]))
      return Error{WbemStatus::kInvalidProperty, "'" + properties[i] + "' is not a property name"};
    wql += (i ? "," : "") + properties[i];
  }
  wql += " FROM " + std::string(class_name);
  return enumerate(wc::class_uri("*", namespace_for(class_name)), wql, false);
}

Result<std::unique_ptr<InstanceStream>> RemoteServices::exec_query(std::string_view wql,
                                                                   std::string_view language) {
  if (!base::iequals(language, "WQL"))
    return Error{WbemStatus::kInvalidQueryType,
                 "query language '" + std::string(language) + "' is not supported (use WQL)"};
  // The wildcard resource URI names the namespace of the class queried; a query that does not
  // parse goes as it is, for the server to point at its error.
  std::string cls;
  if (auto q = wql::parse(wql); q.ok() && q->kind == wql::Query::Kind::kSelect)
    cls = q->select.class_name;
  return enumerate(wc::class_uri("*", namespace_for(cls)), std::string(wql), true);
}

Result<std::unique_ptr<InstanceStream>> RemoteServices::exec_query_in(std::string_view ns,
                                                                      std::string_view wql) {
  if (ns.empty()) return exec_query(wql, "WQL");
  return enumerate(wc::class_uri("*", ns), std::string(wql), true);
}

Result<std::shared_ptr<const ClassDecl>> RemoteServices::get_class(std::string_view class_name) {
  if (!is_identifier(class_name))
    return Error{WbemStatus::kInvalidClass,
                 "'" + std::string(class_name) + "' is not a class name"};
  // The host's own declaration (GetClass), then its ancestors' names for __DERIVATION: CIM-XML
  // names only the superclass.
  std::string ns = namespace_for(class_name);
  auto fetch = [&](std::string_view name) -> Result<std::shared_ptr<ClassDecl>> {
    auto body = post(*connection_, wc::get_class_request(common(), name, ns));
    if (!body.ok()) return body.take_error();
    return wc::parse_get_class_response(*body);
  };
  auto decl = fetch(class_name);
  if (decl.ok()) {
    (*decl)->namespace_path = ns;
    for (std::string sup = (*decl)->superclass; !sup.empty();) {
      if ((*decl)->derivation.size() >= 32)
        return Error{WbemStatus::kFailed, "the host's class " + (*decl)->name +
                                              " has more than 32 ancestors (a superclass cycle?)"};
      auto anc = fetch(sup);
      if (!anc.ok()) return anc.take_error();
      (*decl)->derivation.push_back((*anc)->name);
      sup = (*anc)->superclass;
    }
    return std::shared_ptr<const ClassDecl>(std::move(*decl));
  }
  // A host without GetClass: this build's schema, which a host of the same version shares.
  if (decl.error().code != WbemStatus::kNotSupported) return decl.take_error();
  auto c = cim::Schema::builtin().find(class_name);
  if (!c)
    return Error{WbemStatus::kInvalidClass,
                 "class '" + std::string(class_name) + "' does not exist in " +
                     (namespace_.empty() ? std::string("root\\cimv2") : namespace_)};
  if (!namespace_.empty() && !c->in_namespace(namespace_))
    return Error{WbemStatus::kInvalidClass,
                 "class " + c->name + " is in " + c->namespace_path + ", not " + namespace_};
  return c;
}

Result<MethodResult> RemoteServices::exec_method(std::string_view path, std::string_view method,
                                                 const Parameters& in) {
  auto p = ObjectPath::parse(path);
  if (!p.ok()) return p.take_error();
  if (p->is_namespace_path())
    return Error{WbemStatus::kInvalidObjectPath, "'" + std::string(path) + "' names no class"};
  if (!is_identifier(method))
    return Error{WbemStatus::kInvalidMethod, "'" + std::string(method) + "' is not a method name"};
  std::string uri = uri_for(p->class_name, p->namespace_path);
  auto body = post(*connection_, wc::invoke_request(common(), uri, method, selectors_of(*p), in));
  if (!body.ok()) return body.take_error();
  return wc::parse_invoke_response(*body, p->class_name, method);
}

Result<MethodResult> RemoteServices::exec_method_what_if(std::string_view path,
                                                         std::string_view method,
                                                         const Parameters& in) {
  auto p = ObjectPath::parse(path);
  if (!p.ok()) return p.take_error();
  if (!p->is_instance_path())
    return Error{WbemStatus::kInvalidObjectPath, "'" + std::string(path) + "' names no instance"};
  if (!is_identifier(method))
    return Error{WbemStatus::kInvalidMethod, "'" + std::string(method) + "' is not a method name"};
  // lwmid's option: the Invoke is answered with what it would return. It must be complied with
  // (MustComply, in an OptionSet the server must understand): a server without it faults instead
  // of running the call.
  wc::Common c = common();
  c.what_if = true;
  auto body = post(*connection_, wc::invoke_request(c, uri_for(p->class_name, p->namespace_path),
                                                    method, selectors_of(*p), in));
  if (!body.ok()) return body.take_error();
  return wc::parse_invoke_response(*body, p->class_name, method);
}

Result<MethodResult> RemoteServices::delete_instance(std::string_view path) {
  auto p = ObjectPath::parse(path);
  if (!p.ok()) return p.take_error();
  if (!p->is_instance_path())
    return Error{WbemStatus::kInvalidObjectPath,
                 "'" + std::string(path) + "' names no instance (expected Class.Key=\"value\")"};
  auto body = post(
      *connection_,
      wc::delete_request(common(), uri_for(p->class_name, p->namespace_path), selectors_of(*p)));
  if (!body.ok()) return body.take_error();
  auto r = wc::parse_empty_response(*body);
  if (!r.ok()) return r.take_error();
  return MethodResult{};
}

Result<ObjectPath> RemoteServices::create_instance(std::string_view class_name,
                                                   const Parameters& properties) {
  auto p = ObjectPath::parse(class_name);
  if (!p.ok()) return p.take_error();
  if (!p->is_class_path())
    return Error{WbemStatus::kInvalidObjectPath,
                 "'" + std::string(class_name) +
                     "' is not a class: CreateInstance takes the class and the properties, keys "
                     "included"};
  for (const auto& [name, value] : properties)
    if (!is_identifier(name))
      return Error{WbemStatus::kInvalidProperty, "'" + name + "' is not a property name"};
  auto body =
      post(*connection_,
           wc::create_request(common(), uri_for(p->class_name, p->namespace_path), properties));
  if (!body.ok()) return body.take_error();
  return wc::parse_create_response(*body);
}

Result<std::unique_ptr<EventStream>> RemoteServices::exec_notification_query(
    std::string_view wql, const NotificationOptions& options) {
  wc::SubscribeOptions o;
  o.filter = std::string(wql);
  o.guard = options.guard;
  o.guard_own_session = options.guard_own_session;
  std::string uri = wc::class_uri("*");
  auto c = common();
  auto body = post(*connection_, wc::subscribe_request(c, uri, o), {.query = wql});
  if (!body.ok()) return body.take_error();
  auto sub = wc::parse_subscribe_response(*body);
  if (!sub.ok()) return sub.take_error();
  return std::unique_ptr<EventStream>(
      std::make_unique<RemoteEventStream>(connection_, c, uri, std::move(*sub), host_));
}

// The server enables, per request, every privilege the caller holds: "*" in the list.
Result<void> RemoteServices::enable_held_privileges() {
  for (const auto& q : privileges_)
    if (q == wsman::kEveryHeldPrivilege) return {};
  privileges_.emplace_back(wsman::kEveryHeldPrivilege);
  return {};
}

Result<void> RemoteServices::enable_privilege(std::string_view name) {
  auto p = security::parse_privilege(name);
  if (!p)
    return Error{WbemStatus::kInvalidParameter, "unknown privilege '" + std::string(name) +
                                                    "' (lwmi knows SeDebugPrivilege and "
                                                    "SeIncreaseBasePriorityPrivilege)"};
  std::string canonical(security::privilege_name(*p));
  for (const auto& q : privileges_)
    if (q == canonical) return {};
  privileges_.push_back(canonical);
  return {};
}

}  // namespace lwmi::client
