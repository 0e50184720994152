// The exec guard against the ways a program can be started under another name or without an
// exec of its own file: each test installs the rule a user gets (`Name = 'prog'` gives a file-name
// rule and a comm rule; an identity rule names one file), launches the program that way, and
// asserts what the kernel really does. docs/exec-guard.md tabulates the outcomes and why.
// Every program is a copy of /bin/sh whose first act is to write a marker file: a launch that
// ran any of its own code leaves the marker.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "os/bpf_monitor.h"
#include "os/descriptors.h"

extern char** environ;

namespace lwmi::os {
namespace {

namespace fs = std::filesystem;

constexpr char kLdSo[] = "/lib64/ld-linux-x86-64.so.2";

// What a launch did.
struct Outcome {
  int status = -1;     // waitpid's
  bool wrote = false;  // the program ran its first act
  std::string comm;    // the comm it ran under (written by the program, when it ran)
  bool killed() const { return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }
  bool blocked() const { return killed() && !wrote; }
  bool ran() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0 && wrote; }
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "status " << o.status << (o.wrote ? ", wrote its marker" : ", no marker")
            << (o.comm.empty() ? "" : ", comm " + o.comm);
}

uint64_t kernel_dev(dev_t d) {
  return static_cast<uint64_t>(major(d)) << 20 | minor(d);
}

class BpfGuardBypass : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = BpfMonitor::shared();
    if (!m.ok()) GTEST_SKIP() << "BPF cannot load here: " << m.error().message;
    monitor_ = *m;
    dir_ = fs::temp_directory_path() / ("lwmi-bypass-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    prog_name_ = unique("p");
    prog_ = copy_of("/bin/sh", prog_name_);
  }
  void TearDown() override {
    for (const auto& k : keys_) monitor_->remove_rule(k);
    if (monitor_) monitor_->forget_rule(kRule);
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // A name of at most 15 bytes (a comm) no other test or process uses.
  static std::string unique(const std::string& tag) {
    return "lwb" + tag + std::to_string(::getpid());
  }
  fs::path copy_of(const fs::path& from, const std::string& name) {
    fs::path p = dir_ / name;
    fs::copy_file(from, p, fs::copy_options::overwrite_existing);
    fs::permissions(p, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    return p;
  }
  void add(GuardKey k) {
    ASSERT_TRUE(monitor_->add_rule(k, kRule).ok());
    keys_.push_back(std::move(k));
  }
  // What `Name = 'name'` compiles to: the file's name, and comm when it fits in 15 bytes.
  void name_rule(const std::string& name) {
    GuardKey k;
    k.kind = GuardKey::Kind::kFileName;
    k.name = name;
    add(k);
    if (name.size() <= 15) comm_rule(name);
  }
  void file_name_rule(const std::string& name) {
    GuardKey k;
    k.kind = GuardKey::Kind::kFileName;
    k.name = name;
    add(k);
  }
  void comm_rule(const std::string& name) {
    GuardKey k;
    k.kind = GuardKey::Kind::kComm;
    k.name = name;
    add(k);
  }
  // What `ExecutablePath = 'file'` compiles to: the name in its directory (dev + ino).
  void path_rule(const fs::path& file) {
    struct stat sb;
    ASSERT_EQ(::stat(file.parent_path().c_str(), &sb), 0) << file;
    GuardKey k;
    k.kind = GuardKey::Kind::kPath;
    k.dev = kernel_dev(sb.st_dev);
    k.ino = sb.st_ino;
    k.name = file.filename().string();
    add(k);
  }
  void identity_rule(const fs::path& file) {
    struct stat sb;
    ASSERT_EQ(::stat(file.c_str(), &sb), 0) << file;
    GuardKey k;
    k.kind = GuardKey::Kind::kIdentity;
    k.dev = kernel_dev(sb.st_dev);
    k.ino = sb.st_ino;
    add(k);
  }
  void clear_rules() {
    for (const auto& k : keys_) monitor_->remove_rule(k);
    keys_.clear();
  }

  // The shell command the program runs: write its comm into the marker (its first act).
  std::string first_act() const { return "cat /proc/$$/comm > " + marker().string(); }
  fs::path marker() const { return dir_ / "marker"; }

  // Forks; the child runs `exec` (which must not return on success). Returns what happened.
  Outcome launch(const std::function<void()>& exec) {
    fs::remove(marker());
    pid_t pid = fork();
    if (pid == 0) {
      exec();
      _exit(127);
    }
    Outcome o;
    EXPECT_GT(pid, 0);
    EXPECT_EQ(waitpid(pid, &o.status, 0), pid);
    o.wrote = fs::exists(marker());
    if (o.wrote && read_file(marker(), &o.comm) == 0 && !o.comm.empty() && o.comm.back() == '\n')
      o.comm.pop_back();
    return o;
  }
  // execv of `path` with `args` (argv[0] first).
  Outcome run(const fs::path& path, std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return launch([&] { execve(path.c_str(), argv.data(), environ); });
  }
  // The program itself, started as `path`, running its first act.
  Outcome run_prog(const fs::path& path) { return run(path, {path.string(), "-c", first_act()}); }

  static constexpr uint32_t kRule = 7100;
  std::shared_ptr<BpfMonitor> monitor_;
  fs::path dir_;
  std::string prog_name_;
  fs::path prog_;
  std::vector<GuardKey> keys_;
};

TEST_F(BpfGuardBypass, TheProgramItselfIsBlockedAndRunsWithoutARule) {
  Outcome o = run_prog(prog_);
  EXPECT_TRUE(o.ran()) << o;
  EXPECT_EQ(o.comm, prog_name_);
  name_rule(prog_name_);
  o = run_prog(prog_);
  EXPECT_TRUE(o.blocked()) << o;
}

// The shell's own exec of the program is checked like any other.
TEST_F(BpfGuardBypass, ThroughAShellIsBlocked) {
  name_rule(prog_name_);
  const std::string status = (dir_ / "status").string();
  Outcome o = run("/bin/sh", {"sh", "-c",
                              "cd " + dir_.string() + " && ./" + prog_name_ + " -c '" +
                                  first_act() + "'; echo $? > " + status});
  EXPECT_TRUE(WIFEXITED(o.status)) << o;  // the shell itself is not the program
  EXPECT_FALSE(o.wrote) << o;
  std::string code;
  EXPECT_EQ(read_file(status, &code), 0);
  EXPECT_EQ(code, "137\n") << "the shell saw its child killed by SIGKILL";
  // The shell replacing itself with the program (exec) is killed itself.
  o = run("/bin/sh", {"sh", "-c", "exec " + prog_.string() + " -c '" + first_act() + "'"});
  EXPECT_TRUE(o.blocked()) << o;
}

// execve follows the link: the file run is the target, whose directory entry is prog's name.
TEST_F(BpfGuardBypass, ASymlinkUnderAnotherNameIsBlockedByTheFileName) {
  fs::path link = dir_ / unique("s");
  fs::create_symlink(prog_, link);
  Outcome o = run_prog(link);
  ASSERT_TRUE(o.ran()) << o;
  EXPECT_EQ(o.comm, link.filename().string()) << "comm is the name it was started by";
  file_name_rule(prog_name_);
  EXPECT_TRUE(run_prog(link).blocked()) << "the file name rule alone blocks it";
  clear_rules();
  path_rule(prog_);
  EXPECT_TRUE(run_prog(link).blocked()) << "so does the target's path rule";
  clear_rules();
  identity_rule(prog_);
  EXPECT_TRUE(run_prog(link).blocked()) << "and its identity rule";
  clear_rules();
  comm_rule(prog_name_);
  EXPECT_TRUE(run_prog(link).ran()) << "the comm rule alone does not";
}

// The other way round: a link named like the program to another program is started under that
// name, so its comm matches the name rule's comm key (Name is the name a process was started by).
TEST_F(BpfGuardBypass, ALinkNamedLikeTheProgramToAnotherFileIsBlockedByComm) {
  fs::create_directories(dir_ / "other");
  fs::path link = dir_ / "other" / prog_name_;
  fs::create_symlink(copy_of("/bin/sh", unique("o")), link);
  comm_rule(prog_name_);
  EXPECT_TRUE(run_prog(link).blocked());
  clear_rules();
  file_name_rule(prog_name_);
  EXPECT_TRUE(run_prog(link).ran());
}

// A hard link is the same file under a second directory entry: the kernel runs the entry named
// by the path, so its name is the link's; only the identity rule knows it is the same file.
TEST_F(BpfGuardBypass, AHardLinkRunsUnderANameRuleAndIsBlockedByIdentity) {
  fs::path link = dir_ / unique("h");
  fs::create_hard_link(prog_, link);
  name_rule(prog_name_);
  Outcome o = run_prog(link);
  EXPECT_TRUE(o.ran()) << o;
  EXPECT_EQ(o.comm, link.filename().string());
  path_rule(prog_);
  EXPECT_TRUE(run_prog(link).ran()) << "the link is another directory entry";
  clear_rules();
  identity_rule(prog_);
  EXPECT_TRUE(run_prog(link).blocked());
  EXPECT_TRUE(run_prog(prog_).blocked());
}

// A copy is another file: neither the original's name nor its identity names it.
TEST_F(BpfGuardBypass, ACopyUnderAnotherNameRunsUnlessItsOwnNameOrIdentityIsRuled) {
  fs::path copy = copy_of(prog_, unique("c"));
  name_rule(prog_name_);
  identity_rule(prog_);
  EXPECT_TRUE(run_prog(prog_).blocked());
  EXPECT_TRUE(run_prog(copy).ran());
  clear_rules();
  name_rule(copy.filename().string());
  EXPECT_TRUE(run_prog(copy).blocked());
  clear_rules();
  identity_rule(copy);
  EXPECT_TRUE(run_prog(copy).blocked());
}

// fexecve of a descriptor of the file on disk runs that file: its name and identity apply.
TEST_F(BpfGuardBypass, FexecveOfTheFileIsBlocked) {
  std::vector<std::string> args{prog_name_, "-c", first_act()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto by_fd = [&] {
    int fd = ::open(prog_.c_str(), O_RDONLY | O_CLOEXEC);  // an ELF file runs from it anyway
    if (fd >= 0) fexecve(fd, argv.data(), environ);
  };
  file_name_rule(prog_name_);
  EXPECT_TRUE(launch(by_fd).blocked());
  clear_rules();
  identity_rule(prog_);
  EXPECT_TRUE(launch(by_fd).blocked());
}

// A memfd holding a copy: a new inode on the internal shmem mount whose directory entry is
// "memfd:<the name given to memfd_create>", chosen by whoever starts it.
TEST_F(BpfGuardBypass, AMemfdCopyEscapesNameAndIdentityRules) {
  std::string bytes;  // through a close-on-exec descriptor: the children exec
  ASSERT_EQ(read_file(prog_, &bytes), 0);
  std::vector<std::string> args{prog_name_, "-c", first_act()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The memfd is named like the program, as an attacker would not, to see what the kernel sees.
  auto via_memfd = [&](bool execveat_syscall) {
    return [&, execveat_syscall] {
      int fd = memfd_create(prog_name_.c_str(), MFD_CLOEXEC);
      if (fd < 0 || write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
        _exit(126);
      if (execveat_syscall)
        syscall(SYS_execveat, fd, "", argv.data(), environ, AT_EMPTY_PATH);
      else
        fexecve(fd, argv.data(), environ);
    };
  };
  name_rule(prog_name_);
  identity_rule(prog_);
  for (bool sys : {false, true}) {
    Outcome o = launch(via_memfd(sys));
    EXPECT_TRUE(o.ran()) << (sys ? "execveat: " : "fexecve: ") << o;
    EXPECT_EQ(o.comm, ("memfd:" + prog_name_).substr(0, 15))
        << "comm after an exec by descriptor is the file's directory entry name";
  }
  // A file-name rule on the memfd's entry name does match it (but the name is the caller's).
  clear_rules();
  file_name_rule("memfd:" + prog_name_);
  EXPECT_TRUE(launch(via_memfd(false)).blocked());
}

// ld.so maps the program itself: the kernel runs ld.so, and the program is never exec'd.
TEST_F(BpfGuardBypass, LdSoRunsTheProgramUnlessLdSoItselfIsRuled) {
  if (!fs::exists(kLdSo)) GTEST_SKIP() << "no " << kLdSo;
  name_rule(prog_name_);
  identity_rule(prog_);
  Outcome o = run(kLdSo, {kLdSo, prog_.string(), "-c", first_act()});
  EXPECT_TRUE(o.ran()) << o;
  EXPECT_EQ(o.comm, "ld-linux-x86-64");
  // A rule on ld.so (a copy here, so that ldd elsewhere on the host is never blocked).
  clear_rules();
  fs::path ldso = copy_of(kLdSo, unique("l"));
  name_rule(ldso.filename().string());
  o = run(ldso, {ldso.string(), prog_.string(), "-c", first_act()});
  EXPECT_TRUE(o.blocked()) << o;
  clear_rules();
  identity_rule(ldso);
  EXPECT_TRUE(run(ldso, {ldso.string(), prog_.string(), "-c", first_act()}).blocked());
}

// "#!prog": the kernel opens the interpreter and runs it; at the exec tracepoint the file is the
// interpreter, while comm is the name the script was started by.
TEST_F(BpfGuardBypass, AnInterpreterScript) {
  const std::string script_name = unique("i");
  fs::path script = dir_ / script_name;
  ASSERT_EQ(write_file_atomically(script, "#!" + prog_.string() + "\n" + first_act() + "\n", 0700),
            0);
  auto run_script = [&] { return run(script, {script.string()}); };
  Outcome o = run_script();
  ASSERT_TRUE(o.ran()) << o;
  EXPECT_EQ(o.comm, script_name);
  name_rule(prog_name_);  // the interpreter's name
  EXPECT_TRUE(run_script().blocked());
  clear_rules();
  path_rule(prog_);  // the interpreter's path
  EXPECT_TRUE(run_script().blocked());
  clear_rules();
  identity_rule(prog_);  // the interpreter's identity
  EXPECT_TRUE(run_script().blocked());
  clear_rules();
  identity_rule(script);  // the script's identity: not the file the kernel runs
  EXPECT_TRUE(run_script().ran());
  clear_rules();
  file_name_rule(script_name);  // nor its name
  EXPECT_TRUE(run_script().ran());
  clear_rules();
  path_rule(script);  // nor its path
  EXPECT_TRUE(run_script().ran());
  clear_rules();
  comm_rule(script_name);  // but comm is the script's name
  EXPECT_TRUE(run_script().blocked());
  // The interpreter started by hand with the script as its argument: the script is data.
  clear_rules();
  name_rule(script_name);
  o = run(prog_, {prog_name_, script.string()});
  EXPECT_TRUE(o.ran()) << o;
}

// Nothing in user space is on the exec path: the process holding the rules can be stopped
// without delaying anyone's exec, and its rules end with it.
TEST_F(BpfGuardBypass, AStoppedHolderDelaysNothingAndItsRulesDieWithIt) {
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  pid_t holder = fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    // shared() here would hand back the parent's monitor (copied memory): load our own.
    close(ready[0]);
    auto m = BpfMonitor::load();
    char c = 'n';
    if (m.ok()) {
      GuardKey k;
      k.kind = GuardKey::Kind::kFileName;
      k.name = prog_name_;
      if ((*m)->add_rule(k, kRule + 1).ok()) c = 'y';
    }
    if (write(ready[1], &c, 1) != 1) _exit(1);
    for (;;) pause();
  }
  close(ready[1]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  ASSERT_EQ(c, 'y') << "the holder could not install its rule";
  ASSERT_EQ(kill(holder, SIGSTOP), 0);
  int st = 0;
  ASSERT_EQ(waitpid(holder, &st, WUNTRACED), holder);
  ASSERT_TRUE(WIFSTOPPED(st));

  // 200 execs of /bin/true; a hang would show as a child still running after the deadline.
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(30);
  int ran = 0;
  for (int i = 0; i < 200; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/true", "true", nullptr);
      _exit(127);
    }
    ASSERT_GT(pid, 0);
    int s = 0;
    pid_t got = 0;
    while ((got = waitpid(pid, &s, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
      usleep(200);
    if (got == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &s, 0);
      kill(holder, SIGKILL);
      waitpid(holder, &s, 0);
      FAIL() << "an exec hung while the holder was stopped";
    }
    if (WIFEXITED(s) && WEXITSTATUS(s) == 0) ++ran;
  }
  const auto took =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  RecordProperty("exec_200_ms_holder_stopped", std::to_string(took.count()));
  EXPECT_EQ(ran, 200);
  EXPECT_TRUE(run_prog(prog_).blocked()) << "the stopped holder's rule still holds";

  ASSERT_EQ(kill(holder, SIGKILL), 0);
  ASSERT_EQ(waitpid(holder, &st, 0), holder);
  Outcome o = run_prog(prog_);
  EXPECT_TRUE(o.ran()) << "a rule outlived the process that loaded it: " << o;
}

}  // namespace
}  // namespace lwmi::os
