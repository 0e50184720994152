// definitions_io_test.cc — the store file and subscriptions.d: round trips, each refusal with its
// place, atomic replacement, and files others could write refused.
#include "permanent/definitions_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "os/descriptors.h"

namespace lwmi::permanent {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "lwmi-defs-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `text` to `path` with exactly `mode`.
void put(const std::string& path, const std::string& text, mode_t mode = 0644) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ASSERT_EQ(::fchmod(fd, mode), 0);
  ::close(fd);
}

std::string lines(std::initializer_list<std::string_view> l) {
  std::string out;
  for (auto s : l) out.append(s).push_back('\n');
  return out;
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// ---- The store -------------------------------------------------------------------------------

// One object of every class, with strings JSON and object paths must escape.
Definitions awkward() {
  const std::string odd = "a \"quoted\" back\\slash\nnew line\ttab \x01 é 中文 🙂 %x% ''";
  Definitions d;
  EventFilter f;
  f.name = "filter " + odd;
  f.query = "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'a\"b\\\\c'";
  f.creator = "DOMAIN\\admin \"x\"";
  d.filters.push_back(f);

  Consumer log;
  log.name = "log " + odd;
  log.creator = "root";
  log.spec = LogFileConsumer{"/var/log/lwmi/" + odd, "text " + odd, UINT64_MAX, true};
  d.consumers.push_back(log);
  Consumer run;
  run.name = "run";
  run.spec = CommandLineConsumer{"/usr/bin/printf", "printf %s " + odd, "/tmp/" + odd, 4294967295u};
  d.consumers.push_back(run);
  Consumer journal;
  journal.name = "journal";
  journal.spec = JournalConsumer{odd, 1000, 16, {"", odd, "%TargetInstance.Name%"}};
  d.consumers.push_back(journal);
  Consumer kill;
  kill.name = odd;
  kill.spec = TerminateConsumer{7};
  d.consumers.push_back(kill);

  Binding b;
  b.filter = f.name;
  b.consumer = ConsumerRef{"LogFileEventConsumer", log.name};
  b.creator = "root";
  d.bindings.push_back(b);
  Binding b2 = b;
  b2.consumer = ConsumerRef{"LWMI_TerminateProcessEventConsumer", kill.name};
  d.bindings.push_back(b2);
  return d;
}

template <class T>
void expect_same(const std::vector<T>& a, const std::vector<T>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    auto pa = properties_of(a[i]), pb = properties_of(b[i]);
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t j = 0; j < pa.size(); ++j) {
      EXPECT_EQ(pa[j].first, pb[j].first);
      EXPECT_TRUE(pa[j].second == pb[j].second)
          << i << " " << pa[j].first << ": " << pa[j].second.to_text() << " vs "
          << pb[j].second.to_text();
    }
    EXPECT_FALSE(b[i].origin.from_file());
  }
}

TEST(Store, EveryClassRoundTripsWithAwkwardStrings) {
  const Definitions d = awkward();
  auto text = encode_store(d);
  ASSERT_TRUE(text.ok()) << text.error().to_string();
  auto back = decode_store(*text, "subscriptions.json");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  expect_same(d.filters, back->filters);
  expect_same(d.consumers, back->consumers);
  expect_same(d.bindings, back->bindings);
  for (size_t i = 0; i < d.consumers.size(); ++i)
    EXPECT_EQ(back->consumers[i].class_name(), d.consumers[i].class_name());
  EXPECT_EQ(back->filters[0].creator, "DOMAIN\\admin \"x\"");
  // Stable: the decoded definitions encode to the same text.
  auto again = encode_store(*back);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *text);
}

TEST(Store, ObjectsFromFilesAreNotTheStores) {
  Definitions d = awkward();
  d.filters[0].origin = Origin{"/etc/lwmi/subscriptions.d/a.toml", 1, 1};
  d.consumers[1].origin = Origin{"/etc/lwmi/subscriptions.d/a.toml", 5, 1};
  auto text = encode_store(d);
  ASSERT_TRUE(text.ok());
  auto back = decode_store(*text, "s");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->filters.size(), 0u);
  EXPECT_EQ(back->consumers.size(), 3u);
  EXPECT_EQ(back->bindings.size(), 2u);
}

TEST(Store, TextThatIsNotUtf8IsRefusedNamingItsObject) {
  Definitions d;
  Consumer c;
  c.name = "bad";
  c.spec = LogFileConsumer{"/var/log/lwmi/x", "\xff\xfe", 10, false};
  d.consumers.push_back(c);
  auto text = encode_store(d);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().code, WbemStatus::kInvalidParameter);
  EXPECT_NE(text.error().message.find("LogFileEventConsumer.Name=\"bad\""), std::string::npos)
      << text.error().message;
}

struct BadStore {
  const char* what;
  std::string text;
  WbemStatus code;
  std::string message_start;
};

TEST(Store, ACorruptStoreFailsWholeNamingWhereAndWhat) {
  const std::string head = "{\"format\": \"lwmi-subscriptions\", \"version\": 1, ";
  // A good filter first in each: nothing of a failed load is returned.
  const std::string good_filter = "\"filters\": [{\"Name\": \"f\", \"Query\": \"q\"}], ";
  const std::vector<BadStore> cases = {
      {"syntax", "{\n  \"format\": \"lwmi-subscriptions\",\n  \"version\": 1,\n  oops\n}",
       WbemStatus::kInvalidParameter, "s.json:4:3: not valid JSON"},
      {"truncated", head + good_filter, WbemStatus::kInvalidParameter, "s.json:1:"},
      {"empty", "", WbemStatus::kInvalidParameter, "s.json:1:1: not valid JSON"},
      // Syntactically JSON, but no double holds it (found by fuzzing: it threw).
      {"number overflow", "{\"format\": 90e900000}", WbemStatus::kInvalidParameter,
       "s.json: not valid JSON"},
      {"not an object", "[]", WbemStatus::kInvalidParameter, "s.json: not an lwmi"},
      {"other format", "{\"format\": \"x\", \"version\": 1}", WbemStatus::kInvalidParameter,
       "s.json: not an lwmi subscription store"},
      {"newer version", "{\"format\": \"lwmi-subscriptions\", \"version\": 2}",
       WbemStatus::kInvalidParameter, "s.json: version 2 is not one"},
      {"no version", "{\"format\": \"lwmi-subscriptions\"}", WbemStatus::kInvalidParameter,
       "s.json: \"version\" is missing"},
      {"unknown key", head + "\"filterz\": []}", WbemStatus::kInvalidParameter,
       "s.json: unknown key \"filterz\""},
      {"unknown class",
       head + good_filter +
           "\"consumers\": [{\"class\": \"ActiveScriptEventConsumer\", \"Name\": \"x\"}]}",
       WbemStatus::kInvalidClass,
       "s.json: consumers[0]: unknown class 'ActiveScriptEventConsumer'"},
      {"no class", head + good_filter + "\"consumers\": [{\"Name\": \"x\"}]}",
       WbemStatus::kInvalidParameter, "s.json: consumers[0]: no \"class\""},
      {"unknown property",
       head + good_filter +
           "\"consumers\": [{\"class\": \"LWMI_TerminateProcessEventConsumer\", \"Name\": \"x\", "
           "\"Raeson\": 1}]}",
       WbemStatus::kInvalidProperty,
       "s.json: consumers[0]: class LWMI_TerminateProcessEventConsumer has no property 'Raeson'"},
      {"missing Name",
       head + good_filter +
           "\"consumers\": [{\"class\": \"LWMI_TerminateProcessEventConsumer\", \"Reason\": 1}]}",
       WbemStatus::kInvalidParameter,
       "s.json: consumers[0]: LWMI_TerminateProcessEventConsumer.Name is required"},
      {"missing Query", head + "\"filters\": [{\"Name\": \"f\"}]}", WbemStatus::kInvalidParameter,
       "s.json: filters[0]: __EventFilter.Query is required"},
      {"real",
       head + good_filter +
           "\"consumers\": [{\"class\": \"LWMI_TerminateProcessEventConsumer\", \"Name\": \"x\", "
           "\"Reason\": 1.5}]}",
       WbemStatus::kTypeMismatch,
       "s.json: consumers[0]: LWMI_TerminateProcessEventConsumer.Reason holds a JSON number"},
      {"negative",
       head + good_filter +
           "\"consumers\": [{\"class\": \"LWMI_TerminateProcessEventConsumer\", \"Name\": \"x\", "
           "\"Reason\": -1}]}",
       WbemStatus::kTypeMismatch,
       "s.json: consumers[0]: LWMI_TerminateProcessEventConsumer.Reason must be"},
      {"string for boolean",
       head + good_filter +
           "\"consumers\": [{\"class\": \"LogFileEventConsumer\", \"Name\": \"x\", \"Filename\": "
           "\"/f\", \"IsUnicode\": \"maybe\"}]}",
       WbemStatus::kTypeMismatch, "s.json: consumers[0]: LogFileEventConsumer.IsUnicode must be"},
      {"property twice",
       head + "\"filters\": [{\"Name\": \"f\", \"Query\": \"q\", \"name\": \"g\"}]}",
       WbemStatus::kInvalidParameter, "s.json: filters[0]: \"name\" repeats \"Name\""},
      {"section not an array", head + "\"bindings\": {}}", WbemStatus::kInvalidParameter,
       "s.json: \"bindings\" is not an array"},
      {"bad binding",
       head + good_filter +
           "\"bindings\": [{\"Filter\": \"f\", \"Consumer\": \"Win32_Process.Handle=\\\"1\\\"\"}]}",
       WbemStatus::kInvalidObjectPath, "s.json: bindings[0]: "},
      {"duplicate filter",
       head + "\"filters\": [{\"Name\": \"f\", \"Query\": \"q\"}, {\"Name\": \"F\", \"Query\": "
              "\"q2\"}]}",
       WbemStatus::kAlreadyExists,
       "s.json: filters[1]: __EventFilter.Name=\"F\" is already defined at s.json: filters[0]"},
  };
  for (const auto& c : cases) {
    auto r = decode_store(c.text, "s.json");
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.error().code, c.code) << c.what << ": " << r.error().message;
    EXPECT_TRUE(starts_with(r.error().message, c.message_start))
        << c.what << ": " << r.error().message;
  }
}

TEST(Store, LoadsAMissingFileAsEmptyAndReportsAnUnreadableOne) {
  TempDir dir;
  auto missing = load_store(dir / "subscriptions.json");
  ASSERT_TRUE(missing.ok()) << missing.error().to_string();
  EXPECT_TRUE(missing->filters.empty() && missing->consumers.empty() && missing->bindings.empty());
  auto directory = load_store(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_TRUE(starts_with(directory.error().message, "cannot read " + dir.path() + ": "))
      << directory.error().message;
  put(dir / "corrupt.json", "{\"format\": \"lwmi-subscriptions\", \"version\": 1, \"filters\": [");
  auto corrupt = load_store(dir / "corrupt.json");
  ASSERT_FALSE(corrupt.ok());
  EXPECT_TRUE(starts_with(corrupt.error().message, dir / "corrupt.json:1:"))
      << corrupt.error().message;
}

TEST(Store, SavedDefinitionsSurviveAReload) {
  TempDir dir;
  const std::string path = dir / "subscriptions.json";
  ASSERT_TRUE(save_store(path, awkward()).ok());
  auto back = load_store(path);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  expect_same(awkward().consumers, back->consumers);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(AtomicWrite, ReplacesLeavesNoTemporaryAndAFailureKeepsTheOldFile) {
  TempDir dir;
  const std::string path = dir / "subscriptions.json";
  ASSERT_TRUE(write_file_atomically(path, "one").ok());
  ASSERT_TRUE(write_file_atomically(path, "two").ok());
  std::string text;
  ASSERT_EQ(os::read_file(path, &text), 0);
  EXPECT_EQ(text, "two");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"subscriptions.json"});

  // Its directory is a file: refused with the path and the errno text, nothing left behind.
  auto under_file = write_file_atomically(path + "/x", "three");
  ASSERT_FALSE(under_file.ok());
  EXPECT_EQ(under_file.error().message, "cannot write " + path + "/x: Not a directory");
  // Its directory does not exist.
  auto no_dir = write_file_atomically(dir / "none/subscriptions.json", "three");
  ASSERT_FALSE(no_dir.ok());
  EXPECT_NE(no_dir.error().message.find("No such file or directory"), std::string::npos);
  ASSERT_EQ(os::read_file(path, &text), 0);
  EXPECT_EQ(text, "two");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"subscriptions.json"});
}

TEST(AtomicWrite, ALinkAtThePathIsReplacedNeverWrittenThrough) {
  TempDir dir;
  const std::string victim = dir / "victim", path = dir / "subscriptions.json";
  put(victim, "untouched");
  ASSERT_EQ(::symlink(victim.c_str(), path.c_str()), 0);
  ASSERT_TRUE(write_file_atomically(path, "store").ok());
  std::string text;
  ASSERT_EQ(os::read_file(victim, &text), 0);
  EXPECT_EQ(text, "untouched");
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

// ---- subscriptions.d -------------------------------------------------------------------------

const std::string kAllClasses = lines({
    "# Every class once; class and property names in any case.",
    "[[__EventFilter]]",
    "Name = \"no-download\"",
    "Query = \"SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'Download.exe'\"",
    "",
    "[[logfileeventconsumer]]",
    "name = \"log\"",
    "Filename = \"/var/log/lwmi/starts.log\"",
    "Text = \"started %TargetInstance.Name%\"",
    "MaximumFileSize = 4096",
    "",
    "  [[CommandLineEventConsumer]]",
    "Name = \"run\"",
    "ExecutablePath = \"/usr/local/bin/notify\"",
    "CommandLineTemplate = \"notify %ProcessName%\"",
    "WorkingDirectory = \"/tmp\"",
    "KillTimeout = 30",
    "",
    "[[LWMI_JournalEventConsumer]]",
    "Name = \"journal\"",
    "SourceName = \"lwmi-test\"",
    "EventID = 7",
    "EventType = 2",
    "InsertionStringTemplates = [\"a %ProcessName%\", 'b \"quoted\"']",
    "",
    "[[LWMI_TerminateProcessEventConsumer]]",
    "Name = \"kill\"",
    "Reason = 9",
    "",
    "[[__FilterToConsumerBinding]]",
    "Filter = \"no-download\"",
    "Consumer = 'LWMI_TerminateProcessEventConsumer.Name=\"kill\"'",
    "",
    "[[__FilterToConsumerBinding]]",
    "Filter = '__EventFilter.Name=\"no-download\"'",
    "Consumer = 'LogFileEventConsumer.Name=\"log\"'",
});

TEST(SubscriptionFiles, EveryClassWithItsOrigin) {
  TempDir dir;
  const std::string file = dir / "10-all.toml";
  put(file, kAllClasses);
  auto d = load_subscription_files(dir.path());
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  ASSERT_EQ(d->filters.size(), 1u);
  ASSERT_EQ(d->consumers.size(), 4u);
  ASSERT_EQ(d->bindings.size(), 2u);

  const auto& f = d->filters[0];
  EXPECT_EQ(f.name, "no-download");
  EXPECT_EQ(f.query_language, "WQL");
  EXPECT_EQ(f.creator, "");
  EXPECT_EQ(f.origin.describe(), file + ":2:1");

  const auto& log = d->consumers[0];
  EXPECT_EQ(log.class_name(), "LogFileEventConsumer");
  EXPECT_EQ(log.name, "log");
  EXPECT_EQ(std::get<LogFileConsumer>(log.spec).maximum_file_size, 4096u);
  EXPECT_EQ(std::get<LogFileConsumer>(log.spec).text, "started %TargetInstance.Name%");
  EXPECT_EQ(log.origin.describe(), file + ":6:1");

  const auto& run = std::get<CommandLineConsumer>(d->consumers[1].spec);
  EXPECT_EQ(run.executable_path, "/usr/local/bin/notify");
  EXPECT_EQ(run.command_line_template, "notify %ProcessName%");
  EXPECT_EQ(run.working_directory, "/tmp");
  EXPECT_EQ(run.kill_timeout, 30u);
  EXPECT_EQ(d->consumers[1].origin.describe(), file + ":12:3");

  const auto& journal = std::get<JournalConsumer>(d->consumers[2].spec);
  EXPECT_EQ(journal.source_name, "lwmi-test");
  EXPECT_EQ(journal.event_id, 7u);
  EXPECT_EQ(journal.event_type, 2u);
  EXPECT_EQ(journal.insertion_string_templates,
            (std::vector<std::string>{"a %ProcessName%", "b \"quoted\""}));

  EXPECT_EQ(std::get<TerminateConsumer>(d->consumers[3].spec).reason, 9u);
  EXPECT_EQ(d->consumers[3].origin.describe(), file + ":26:1");

  EXPECT_EQ(d->bindings[0].filter, "no-download");
  EXPECT_TRUE(
      (d->bindings[0].consumer == ConsumerRef{"LWMI_TerminateProcessEventConsumer", "kill"}));
  EXPECT_EQ(d->bindings[1].filter, "no-download");
  EXPECT_TRUE((d->bindings[1].consumer == ConsumerRef{"LogFileEventConsumer", "log"}));
  EXPECT_EQ(d->bindings[1].origin.describe(), file + ":34:1");
}

TEST(SubscriptionFiles, FilesInNameOrderOthersIgnoredAMissingDirectoryIsEmpty) {
  TempDir dir;
  put(dir / "20-b.toml", lines({"[[__EventFilter]]", "Name = \"b\"", "Query = \"q\""}));
  put(dir / "10-a.toml", lines({"[[__EventFilter]]", "Name = \"a\"", "Query = \"q\""}));
  put(dir / "15-empty.toml", "");
  // Not definitions: each would fail the load if it were read.
  for (const char* other : {"x.conf", ".hidden.toml", "30-c.toml~", "30-c.toml.dpkg-old", "README"})
    put(dir / other, "this is not TOML [[");
  ASSERT_EQ(::mkdir((dir / "sub.d").c_str(), 0755), 0);
  auto d = load_subscription_files(dir.path() + "/");
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  ASSERT_EQ(d->filters.size(), 2u);
  EXPECT_EQ(d->filters[0].name, "a");
  EXPECT_EQ(d->filters[0].origin.file, dir / "10-a.toml");
  EXPECT_EQ(d->filters[1].name, "b");

  auto none = load_subscription_files(dir / "none");
  ASSERT_TRUE(none.ok()) << none.error().to_string();
  EXPECT_TRUE(none->filters.empty());
  auto file = load_subscription_files(dir / "10-a.toml");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message.find("Not a directory"), std::string::npos);
}

struct BadFile {
  const char* what;
  std::string text;
  std::string at;  // "LINE:COL"
  WbemStatus code;
  std::string message;  // after "FILE:LINE:COL: "
};

TEST(SubscriptionFiles, EachErrorAtItsLineAndColumn) {
  const std::string filter = "[[__EventFilter]]\nName = \"f\"\n";
  const std::vector<BadFile> cases = {
      {"syntax", filter + "Query = \n", "3:9", WbemStatus::kInvalidParameter,
       "Error while parsing key-value pair"},
      {"unknown class", "\n[[ActiveScriptEventConsumer]]\nName = \"x\"\n", "2:1",
       WbemStatus::kInvalidClass, "unknown class 'ActiveScriptEventConsumer'"},
      {"unknown key", filter + "Qeury = \"q\"\n", "3:1", WbemStatus::kInvalidProperty,
       "class __EventFilter has no property 'Qeury'"},
      {"key in another case twice", filter + "Query = \"q\"\nname = \"g\"\n", "4:1",
       WbemStatus::kInvalidParameter, "'name' repeats 'Name'"},
      {"CreatorName", filter + "Query = \"q\"\nCreatorName = \"root\"\n", "4:1",
       WbemStatus::kInvalidProperty, "__EventFilter.CreatorName is not set in files"},
      {"float", "[[CommandLineEventConsumer]]\nName = \"c\"\nKillTimeout = 1.5\n", "3:15",
       WbemStatus::kTypeMismatch, "CommandLineEventConsumer.KillTimeout cannot be a floating"},
      {"date", "[[CommandLineEventConsumer]]\nName = \"c\"\nKillTimeout = 2024-01-01\n", "3:15",
       WbemStatus::kTypeMismatch, "CommandLineEventConsumer.KillTimeout cannot be a date"},
      {"inline table", "[[LogFileEventConsumer]]\nName = \"c\"\nText = { a = 1 }\n", "3:8",
       WbemStatus::kTypeMismatch, "LogFileEventConsumer.Text cannot be a table"},
      {"array element",
       "[[LWMI_JournalEventConsumer]]\nName = \"j\"\nInsertionStringTemplates = [\"a\", 2]\n",
       "3:34", WbemStatus::kTypeMismatch,
       "LWMI_JournalEventConsumer.InsertionStringTemplates cannot be an integer"},
      {"negative", "[[LWMI_TerminateProcessEventConsumer]]\nName = \"t\"\nReason = -1\n", "3:10",
       WbemStatus::kTypeMismatch, "LWMI_TerminateProcessEventConsumer.Reason must be"},
      {"text for a number",
       "[[LWMI_TerminateProcessEventConsumer]]\nName = \"t\"\nReason = \"x\"\n", "3:10",
       WbemStatus::kTypeMismatch, "LWMI_TerminateProcessEventConsumer.Reason must be"},
      {"string for a string array",
       "[[LWMI_JournalEventConsumer]]\nName = \"j\"\nInsertionStringTemplates = \"a\"\n", "3:28",
       WbemStatus::kTypeMismatch, "LWMI_JournalEventConsumer.InsertionStringTemplates must be"},
      {"empty Name", "[[__EventFilter]]\nName = \"\"\nQuery = \"q\"\n", "2:8",
       WbemStatus::kInvalidParameter, "__EventFilter.Name is required"},
      {"other query language", filter + "Query = \"q\"\nQueryLanguage = \"CQL\"\n", "4:17",
       WbemStatus::kInvalidParameter, "__EventFilter.QueryLanguage is 'CQL'"},
      {"not a consumer path",
       "[[__FilterToConsumerBinding]]\nFilter = \"f\"\nConsumer = 'Win32_Process.Handle=\"1\"'\n",
       "3:12", WbemStatus::kInvalidObjectPath,
       "'Win32_Process.Handle=\"1\"' does not name a consumer"},
      {"missing Query", "# a comment\n" + filter, "2:1", WbemStatus::kInvalidParameter,
       "__EventFilter.Query is required"},
      {"missing Name", "[[LogFileEventConsumer]]\nFilename = \"/var/log/lwmi/x\"\n", "1:1",
       WbemStatus::kInvalidParameter, "LogFileEventConsumer.Name is required"},
      {"missing Consumer", "[[__FilterToConsumerBinding]]\nFilter = \"f\"\n", "1:1",
       WbemStatus::kInvalidParameter, "__FilterToConsumerBinding.Consumer is required"},
      {"key outside a table", "Name = \"x\"\n" + filter, "1:1", WbemStatus::kInvalidParameter,
       "'Name' is outside any table"},
      {"single table", "[__EventFilter]\nName = \"f\"\nQuery = \"q\"\n", "1:1",
       WbemStatus::kInvalidParameter,
       "'__EventFilter' is a single table: write each object as [[__EventFilter]]"},
      {"same Name twice in a file",
       filter + "Query = \"q\"\n[[__EventFilter]]\nName = \"F\"\nQuery = \"q\"\n", "4:1",
       WbemStatus::kAlreadyExists, "__EventFilter.Name=\"F\" is already defined at "},
  };
  for (const auto& c : cases) {
    TempDir dir;
    const std::string file = dir / "50-bad.toml";
    put(file, c.text);
    auto r = load_subscription_files(dir.path());
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.error().code, c.code) << c.what << ": " << r.error().message;
    const std::string prefix = file + ":" + c.at + ": " + c.message;
    EXPECT_TRUE(starts_with(r.error().message, prefix))
        << c.what << ":\n  got:  " << r.error().message << "\n  want: " << prefix;
  }
}

TEST(SubscriptionFiles, OneBadFileFailsTheWholeLoad) {
  TempDir dir;
  put(dir / "10-good.toml", kAllClasses);
  put(dir / "20-again.toml",
      lines({"# the same consumer as 10-good.toml's, its name in another case", "",
             "[[LWMI_TerminateProcessEventConsumer]]", "Name = \"KILL\""}));
  auto r = load_subscription_files(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kAlreadyExists);
  EXPECT_EQ(r.error().message,
            dir / "20-again.toml:3:1: LWMI_TerminateProcessEventConsumer.Name=\"KILL\" is already "
                  "defined at " +
                dir / "10-good.toml:26:1");
  // A consumer of another class may share the name; a second binding of the same pair may not.
  put(dir / "20-again.toml",
      lines({"[[LogFileEventConsumer]]", "Name = \"kill\"", "Filename = \"/var/log/lwmi/k\"",
             "[[__FilterToConsumerBinding]]", "Filter = '__EventFilter.Name=\"No-Download\"'",
             "Consumer = 'logfileeventconsumer.Name=\"LOG\"'"}));
  r = load_subscription_files(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kAlreadyExists);
  EXPECT_TRUE(starts_with(r.error().message, dir / "20-again.toml:4:1: ")) << r.error().message;
}

// subscriptions.d makes lwmid (root) run commands and end processes: a file or directory anyone
// but lwmid's own user could write is an attempt to make root act, and refused.
TEST(SubscriptionFiles, AFileOrDirectoryOthersCanWriteIsRefused) {
  TempDir dir;
  const std::string file = dir / "10-all.toml";
  put(file, kAllClasses, 0644);
  ASSERT_TRUE(load_subscription_files(dir.path()).ok());

  for (mode_t mode : {0664, 0646, 0666}) {
    ASSERT_EQ(::chmod(file.c_str(), mode), 0);
    auto r = load_subscription_files(dir.path());
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_EQ(r.error().code, WbemStatus::kAccessDenied);
    EXPECT_TRUE(starts_with(r.error().message, file + ": writable by others (mode 0"))
        << r.error().message;
  }
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  ASSERT_TRUE(load_subscription_files(dir.path()).ok());

  for (mode_t mode : {0770, 0757}) {
    ASSERT_EQ(::chmod(dir.path().c_str(), mode), 0);
    auto r = load_subscription_files(dir.path());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, WbemStatus::kAccessDenied);
    EXPECT_TRUE(starts_with(r.error().message, dir.path() + ": writable by others"))
        << r.error().message;
  }
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);

  // Owned by another user (as root, the test can give it away).
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(file.c_str(), 65534, 65534), 0);
    auto r = load_subscription_files(dir.path());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, WbemStatus::kAccessDenied);
    EXPECT_TRUE(starts_with(r.error().message,
                            file + ": writable by others (owned by uid 65534, not lwmid's uid 0)"))
        << r.error().message;
    ASSERT_EQ(::chown(file.c_str(), 0, 0), 0);
    ASSERT_EQ(::chown(dir.path().c_str(), 65534, 65534), 0);
    r = load_subscription_files(dir.path());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, WbemStatus::kAccessDenied);
    ASSERT_EQ(::chown(dir.path().c_str(), 0, 0), 0);
  }
  // A link to a file others can write is judged by that file.
  const std::string outside = dir / "outside";
  ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
  put(outside + "/target", kAllClasses, 0666);
  ASSERT_EQ(::unlink(file.c_str()), 0);
  ASSERT_EQ(::symlink((outside + "/target").c_str(), file.c_str()), 0);
  auto linked = load_subscription_files(dir.path());
  ASSERT_FALSE(linked.ok());
  EXPECT_EQ(linked.error().code, WbemStatus::kAccessDenied);
  ASSERT_EQ(::chmod((outside + "/target").c_str(), 0644), 0);
  EXPECT_TRUE(load_subscription_files(dir.path()).ok());
}

TEST(SubscriptionFiles, AFifoIsRefusedWithoutBlocking) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "10-fifo.toml").c_str(), 0600), 0);
  auto r = load_subscription_files(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, dir / "10-fifo.toml: not a regular file");
}

}  // namespace
}  // namespace lwmi::permanent
