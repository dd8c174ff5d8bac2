#include "suite.hpp"

#include <fnmatch.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <nlohmann/json.hpp>

namespace hxrt::conformance {

void Check::fail(const std::string& what) {
  // A broken plugin can fail the same way thousands of times; keep the report readable.
  if (failures_.size() < 8)
    failures_.push_back(what);
  else if (failures_.size() == 8)
    failures_.push_back("(further failures of this check omitted)");
}

Recorder::Recorder(int fd, const std::string& filter, std::set<std::string> already_done)
    : fd_(fd), filter_(filter), done_(std::move(already_done)) {}

bool Recorder::wants(const std::string& id) const {
  if (done_.count(id)) return false;
  // The filter matches the id with or without its "[devN]" suffix.
  std::string bare = id.substr(0, id.find('['));
  return fnmatch(filter_.c_str(), id.c_str(), 0) == 0 || fnmatch(filter_.c_str(), bare.c_str(), 0) == 0;
}

void Recorder::write_line(const std::string& line) const {
  std::string text = line + "\n";
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void Recorder::record(const Result& r) {
  nlohmann::json j = {{"t", "result"}, {"id", r.id},           {"area", r.area},       {"rule", r.rule},
                      {"status", r.status}, {"message", r.message}, {"note", r.note}, {"seconds", r.seconds}};
  write_line(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Recorder::check(const std::string& id, const std::string& area, const std::string& rule,
                     const std::function<void(Check&)>& body) {
  if (!wants(id)) return;
  // Announced first, so the parent can name the check if the plugin crashes in it.
  write_line(nlohmann::json({{"t", "begin"}, {"id", id}, {"area", area}, {"rule", rule}}).dump());
  Check c;
  Result r{id, area, rule, "pass", "", "", 0};
  auto t0 = std::chrono::steady_clock::now();
  try {
    body(c);
    if (c.failed()) {
      r.status = "fail";
      for (const auto& f : c.failures()) r.message += (r.message.empty() ? "" : "\n") + f;
    }
  } catch (const SkipCheck& s) {
    r.status = c.failed() ? "fail" : "skip";
    r.message = s.what();
    for (const auto& f : c.failures()) r.message += "\n" + f;
  } catch (const std::exception& e) {
    r.status = "fail";
    for (const auto& f : c.failures()) r.message += f + "\n";
    r.message += e.what();
  }
  r.note = c.note_text();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  record(r);
  done_.insert(id);
}

std::string GroupContext::id(const std::string& name, int device) const {
  std::string s = prefix + "." + name;
  if (device >= 0) s += "[dev" + std::to_string(device) + "]";
  return s;
}

bool GroupContext::wants(const std::string& name, int device) const { return recorder.wants(id(name, device)); }

void GroupContext::check(const std::string& name, const std::string& rule, const std::function<void(Check&)>& body,
                         int device) {
  recorder.check(id(name, device), area, rule, body);
}

std::vector<GroupInfo> all_groups() {
  std::vector<GroupInfo> groups;
  add_abi_groups(groups);
  add_memory_groups(groups);
  add_stream_groups(groups);
  add_op_groups(groups);
  add_executable_groups(groups);
  add_onnx_groups(groups);
  return groups;
}

}  // namespace hxrt::conformance
