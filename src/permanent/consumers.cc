// permanent/consumers.cc — check_consumer and make_action: dispatch by consumer kind; the
// command consumer's action (the runner does the rest).
#include "permanent/consumers.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cim/instance_json.h"
#include "permanent/command_runner.h"
#include "permanent/consumer_kinds.h"
#include "permanent/template.h"

namespace lwmi::permanent {
namespace {

Error invalid(std::string message) {
  return Error{WbemStatus::kInvalidParameter, std::move(message)};
}

/// A template's error, naming the property.
Error template_error(std::string_view property, const Error& e) {
  Error out = e;
  out.message = std::string(property) + ": " + e.message;
  return out;
}

class CommandAction : public ConsumerAction {
 public:
  CommandAction(CommandLineConsumer spec, std::shared_ptr<CommandRunner> runner)
      : spec_(std::move(spec)), runner_(std::move(runner)) {}

  void deliver(const Instance& event, Delivered done) override {
    auto args = expand_arguments(spec_.command_line_template, event);
    if (!args.ok()) return done(template_error("CommandLineTemplate", args.error()));
    CommandRunner::Job job;
    job.argv.reserve(args->size() + 1);
    job.argv.push_back(spec_.executable_path);
    for (std::string& a : *args) job.argv.push_back(std::move(a));
    job.directory = spec_.working_directory;
    job.input = cim::instance_json(event, false) + "\n";
    job.kill_timeout = spec_.kill_timeout;
    job.done = std::move(done);
    runner_->run(std::move(job));
  }

 private:
  const CommandLineConsumer spec_;
  const std::shared_ptr<CommandRunner> runner_;
};

}  // namespace

Result<void> check_command(const CommandLineConsumer& c, const ConsumerSettings&) {
  const std::string& path = c.executable_path;
  if (path.empty() || path[0] != '/')
    return invalid(
        "CommandLineEventConsumer.ExecutablePath must be an absolute path (it is "
        "never looked up on PATH nor run through a shell): '" +
        path + "'");
  if (path.find('\0') != std::string::npos)
    return invalid("CommandLineEventConsumer.ExecutablePath holds a NUL character");
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return invalid("CommandLineEventConsumer.ExecutablePath " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0)
    return invalid("CommandLineEventConsumer.ExecutablePath " + path +
                   " is not an executable regular file");
  if (!c.working_directory.empty() && c.working_directory[0] != '/')
    return invalid("CommandLineEventConsumer.WorkingDirectory must be an absolute path: '" +
                   c.working_directory + "'");
  if (auto t = check_template(c.command_line_template); !t.ok())
    return template_error("CommandLineEventConsumer.CommandLineTemplate", t.error());
  return {};
}

std::unique_ptr<ConsumerAction> make_command_action(const CommandLineConsumer& c,
                                                    std::shared_ptr<CommandRunner> runner) {
  return std::make_unique<CommandAction>(c, std::move(runner));
}

Result<void> check_consumer(const Consumer& consumer, const ConsumerSettings& settings) {
  if (auto* c = std::get_if<CommandLineConsumer>(&consumer.spec))
    return check_command(*c, settings);
  if (auto* l = std::get_if<LogFileConsumer>(&consumer.spec)) return check_log_file(*l, settings);
  if (auto* j = std::get_if<JournalConsumer>(&consumer.spec)) return check_journal(*j);
  return {};  // terminate: the engine checks what it needs
}

Result<std::unique_ptr<ConsumerAction>> make_action(const Consumer& consumer,
                                                    const ConsumerSettings& settings,
                                                    std::shared_ptr<CommandRunner> runner) {
  if (auto checked = check_consumer(consumer, settings); !checked.ok()) return checked.take_error();
  if (auto* c = std::get_if<CommandLineConsumer>(&consumer.spec)) {
    if (!runner)
      return invalid("CommandLineEventConsumer " + consumer.name + ": no command runner");
    return make_command_action(*c, std::move(runner));
  }
  if (auto* l = std::get_if<LogFileConsumer>(&consumer.spec))
    return make_log_file_action(*l, settings);
  if (auto* j = std::get_if<JournalConsumer>(&consumer.spec)) return make_journal_action(*j);
  return invalid(std::string(consumer.class_name()) + " " + consumer.name +
                 ": the engine acts for terminate consumers, not make_action");
}

}  // namespace lwmi::permanent
