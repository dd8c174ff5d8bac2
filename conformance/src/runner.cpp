#include "runner.hpp"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <nlohmann/json.hpp>

namespace hxrt::conformance {
namespace {

// The child: runs the group, writing JSON lines to `fd`, then exits without
// running the parent's atexit handlers or flushing its copies of stdio.
[[noreturn]] void run_child(const GroupInfo& group, const Options& options, int fd, const std::set<std::string>& done) {
  Recorder recorder(fd, options.filter, done);
  GroupContext context{options, recorder, group.area, group.name};
  try {
    group.run(context);
  } catch (const std::exception& e) {
    // Setup failures outside any check (context creation, ...) fail the group.
    recorder.record({group.name + ".setup", group.area, "R3.3", "fail", e.what(), "", 0});
  }
  ::close(fd);
  std::fflush(nullptr);
  _exit(0);
}

std::string signal_text(int sig) {
  const char* name = sigabbrev_np(sig);
  return std::string("signal ") + std::to_string(sig) + " (SIG" + (name ? name : "?") + ", " + strsignal(sig) + ")";
}

}  // namespace

std::vector<Result> run_group_isolated(const GroupInfo& group, const Options& options) {
  std::vector<Result> results;
  std::set<std::string> done;
  // A crash costs one check; give up on a group that keeps crashing.
  for (int attempt = 0; attempt < 16; ++attempt) {
    int fds[2];
    if (pipe(fds) != 0) {
      results.push_back({group.name, group.area, "-", "fail", "cannot create a pipe for the child", "", 0});
      return results;
    }
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
      results.push_back({group.name, group.area, "-", "fail", "fork failed", "", 0});
      return results;
    }
    if (pid == 0) {
      ::close(fds[0]);
      run_child(group, options, fds[1], done);
    }
    ::close(fds[1]);

    std::string buffer, current, current_rule;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(options.group_timeout_s);
    bool timed_out = false;
    auto handle_line = [&](const std::string& line) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("t")) return;
      if (j["t"] == "begin") {
        current = j.value("id", "");
        current_rule = j.value("rule", "");
      } else if (j["t"] == "result") {
        Result r{j.value("id", ""), j.value("area", ""), j.value("rule", ""), j.value("status", ""),
                 j.value("message", ""), j.value("note", ""), j.value("seconds", 0.0)};
        done.insert(r.id);
        results.push_back(std::move(r));
        current.clear();
      }
    };
    for (;;) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        timed_out = true;
        break;
      }
      int wait_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
      pollfd p{fds[0], POLLIN, 0};
      int ready = poll(&p, 1, wait_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) continue;
      char chunk[65536];
      ssize_t n = ::read(fds[0], chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buffer.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buffer.find('\n')) != std::string::npos) {
        handle_line(buffer.substr(0, nl));
        buffer.erase(0, nl + 1);
      }
    }
    if (timed_out) kill(pid, SIGKILL);
    ::close(fds[0]);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    bool clean = !timed_out && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
    if (clean) return results;

    std::string why = timed_out ? "timed out after " + std::to_string(static_cast<int>(options.group_timeout_s)) + " s"
                      : WIFSIGNALED(wstatus) ? "the plugin crashed the process: " + signal_text(WTERMSIG(wstatus))
                                             : "the process exited with status " + std::to_string(WEXITSTATUS(wstatus)) +
                                                   " (a plugin must not call exit(), R3.3)";
    if (current.empty()) {
      results.push_back({group.name + ".process", group.area, "R3.3", "fail", why + " outside any check", "", 0});
      return results;
    }
    results.push_back({current, group.area, current_rule.empty() ? "R3.3" : current_rule, "fail",
                       why + " during this check; the group went on in a new process (R3.3)", "", 0});
    done.insert(current);
  }
  results.push_back({group.name + ".process", group.area, "R3.3", "fail", "gave up after 16 crashes", "", 0});
  return results;
}

}  // namespace hxrt::conformance
