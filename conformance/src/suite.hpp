// The conformance suite's skeleton: options, check results, and the groups
// that produce them. Every group runs in a forked child (runner.cpp) and
// reports through a Recorder as JSON lines, so a crash costs only the check
// that was running.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace hxrt::conformance {

enum class Profile { kCore, kFull };

struct Options {
  std::string plugin_path;
  std::string device = "all";  // "all" or an index
  Profile profile = Profile::kCore;
  std::string filter = "*";
  std::string onnx_tests;      // folder of ONNX backend node tests; "" = none
  uint64_t seed = 1;
  double group_timeout_s = 300;
};

// One check's outcome, as reported to the user.
struct Result {
  std::string id;       // "memory.copy.unaligned_roundtrip[dev0]"
  std::string area;     // "memory"
  std::string rule;     // "R7.6"
  std::string status;   // "pass", "fail", "skip"
  std::string message;  // why it failed or was skipped; observed vs expected
  std::string note;     // informational (estimate vs measured, ...)
  double seconds = 0;
};

// Thrown inside a check body to skip it with a reason.
struct SkipCheck : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Collects failures of one check; a check passes when none were added.
class Check {
 public:
  // Adds a failure unless `ok`; returns `ok` so callers can stop early.
  bool expect(bool ok, const std::string& what) {
    if (!ok) fail(what);
    return ok;
  }
  void fail(const std::string& what);
  [[noreturn]] void skip(const std::string& why) { throw SkipCheck(why); }
  void note(const std::string& text) { note_ += (note_.empty() ? "" : "; ") + text; }
  bool failed() const { return !failures_.empty(); }
  const std::vector<std::string>& failures() const { return failures_; }
  const std::string& note_text() const { return note_; }

 private:
  std::vector<std::string> failures_;
  std::string note_;
};

// Writes results of the running child as JSON lines to a pipe.
class Recorder {
 public:
  Recorder(int fd, const std::string& filter, std::set<std::string> already_done);
  // Whether the check with `id` should run (filter, and not done by an earlier child).
  bool wants(const std::string& id) const;
  // Runs `body` as check `id` under `rule` and records its result.
  void check(const std::string& id, const std::string& area, const std::string& rule,
             const std::function<void(Check&)>& body);
  // Records a result without a body (skips for a whole group, ...).
  void record(const Result& result);

 private:
  void write_line(const std::string& line) const;
  int fd_;
  std::string filter_;
  std::set<std::string> done_;
};

class Plugin;  // plugin.hpp

// What a group gets to work with.
struct GroupContext {
  const Options& options;
  Recorder& recorder;
  std::string area;    // report section
  std::string prefix;  // id prefix: the group's name
  // Runs check `name` (id = prefix.name, plus "[devN]" when `device` >= 0).
  void check(const std::string& name, const std::string& rule, const std::function<void(Check&)>& body,
             int device = -1);
  bool wants(const std::string& name, int device = -1) const;
  std::string id(const std::string& name, int device = -1) const;
  bool full() const { return options.profile == Profile::kFull; }
};

struct GroupInfo {
  std::string area;         // "abi", "memory", "streams", "ops", "cost", "executables", "stress", "onnx"
  std::string name;         // unique: "abi.negotiation"
  Profile profile;          // the lowest profile that runs it
  std::string description;
  std::string rules;        // rules it covers, for --list and the docs
  std::function<void(GroupContext&)> run;
};

// Every group, in run order.
std::vector<GroupInfo> all_groups();

// Groups, one registration function per file.
void add_abi_groups(std::vector<GroupInfo>& groups);
void add_memory_groups(std::vector<GroupInfo>& groups);
void add_stream_groups(std::vector<GroupInfo>& groups);
void add_op_groups(std::vector<GroupInfo>& groups);
void add_executable_groups(std::vector<GroupInfo>& groups);
void add_onnx_groups(std::vector<GroupInfo>& groups);

}  // namespace hxrt::conformance
