// permanent/subscriptions.cc — store, files and engine kept in step.
#include "permanent/subscriptions.h"

#include "permanent/definitions_io.h"

namespace lwmi::permanent {

security::Caller daemon_caller() {
  security::Caller c;
  c.uid = c.euid = 0;
  c.gid = 0;
  c.user = "lwmid";
  c.peer = "subscription";
  c.embedded = false;
  c.held.add(security::Privilege::kDebug);
  c.enabled.add(security::Privilege::kDebug);
  return c;
}

ConsumerSettings consumer_settings(const config::SubscriptionsConfig& c) {
  ConsumerSettings s;
  s.log_directory = c.log_directory;
  s.command_user = c.command_user;
  s.max_concurrent_commands = c.max_concurrent_commands;
  s.max_queued_commands = c.max_queued_commands;
  s.command_timeout = c.command_timeout;
  return s;
}

namespace {

EngineDeps with_config(EngineDeps deps, const config::Config& config) {
  deps.settings = consumer_settings(config.subscriptions);
  deps.breaker_failures = config.subscriptions.breaker_failures;
  return deps;
}

std::string count(size_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

}  // namespace

PermanentSubscriptions::PermanentSubscriptions(const config::Config& config, EngineDeps deps)
    : directory_(config.subscriptions.directory),
      store_(config.server.state_dir + "/subscriptions.json",
             consumer_settings(config.subscriptions)),
      engine_(std::make_unique<Engine>(with_config(std::move(deps), config))) {}

PermanentSubscriptions::~PermanentSubscriptions() {
  stop();
}

std::vector<std::string> PermanentSubscriptions::start() {
  std::vector<std::string> problems;
  if (auto r = store_.load(); !r.ok()) problems.push_back(r.error().message);
  auto files = load_subscription_files(directory_);
  if (!files.ok()) {
    problems.push_back("subscriptions.d not loaded: " + files.error().message);
  } else if (auto r = store_.set_files(std::move(*files)); !r.ok()) {
    problems.push_back("subscriptions.d not loaded: " + r.error().message);
  }
  engine_->apply(store_.all());
  // From now on every change through the API restarts what it touched.
  store_.on_change([this] { engine_->apply(store_.all()); });
  return problems;
}

Result<std::string> PermanentSubscriptions::reload() {
  auto files = load_subscription_files(directory_);
  if (!files.ok()) return files.take_error();
  const size_t filters = files->filters.size(), consumers = files->consumers.size(),
               bindings = files->bindings.size();
  if (auto r = store_.set_files(std::move(*files)); !r.ok()) return r.take_error();
  engine_->apply(store_.all(), /*reset=*/true);
  return directory_ + ": " + count(filters, "filter") + ", " + count(consumers, "consumer") + ", " +
         count(bindings, "binding");
}

void PermanentSubscriptions::stop() {
  if (engine_) engine_->stop();
}

}  // namespace lwmi::permanent
