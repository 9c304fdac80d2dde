#include "benchmarks/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace meshrt::bench {

child_process::child_process(const std::vector<std::string>& args, std::string log_path) :
  log_path_(std::move(log_path)) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // posix_spawnp: a bare name (redis-server) is looked up in PATH.
  auto rc = posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw std::runtime_error("cannot start " + args[0]);
}

child_process::~child_process() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void child_process::signal(int sig) {
  if (!exit_code_)
    ::kill(pid_, sig);
}

std::optional<int> child_process::wait(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!exit_code_) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return exit_code_;
}

bool child_process::wait_for_log(const std::string& text, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (log().find(text) != std::string::npos)
      return true;
    // Ended or out of time: one last read for what it wrote meanwhile.
    if (wait(std::chrono::milliseconds{0}) || std::chrono::steady_clock::now() > deadline)
      return log().find(text) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

std::string child_process::log() const {
  std::ifstream in{log_path_};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

double child_process::cpu_seconds() const {
  std::ifstream in{"/proc/" + std::to_string(pid_) + "/stat"};
  std::string line;
  std::getline(in, line);
  // Fields after the command name (which may hold spaces) in parentheses:
  // state is field 3; utime and stime are fields 14 and 15.
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream fields{line.substr(close + 2)};
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14)
      utime = std::stoull(field);
    if (i == 15)
      stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::optional<int> child_process::stop(std::chrono::milliseconds limit) {
  signal(SIGTERM);
  return wait(limit);
}

finished_process run_to_end(const std::vector<std::string>& args, std::string log_path,
                            std::chrono::milliseconds limit) {
  child_process p{args, std::move(log_path)};
  finished_process out;
  out.exit_code = p.wait(limit);
  out.log = p.log();
  return out;
}

std::string word_after(const std::string& text, const std::string& marker) {
  auto pos = text.find(marker);
  if (pos == std::string::npos)
    return {};
  pos += marker.size();
  return text.substr(pos, text.find_first_of(" \n", pos) - pos);
}

} // namespace meshrt::bench
