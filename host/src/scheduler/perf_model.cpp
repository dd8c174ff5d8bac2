#include "scheduler/perf_model.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace hxrt::sched {

using nlohmann::json;

static std::string key3(const std::string& a, const std::string& b, const std::string& c) {
  return a + '\x1f' + b + '\x1f' + c;
}
static std::string key2(const std::string& a, const std::string& b) { return a + '\x1f' + b; }

void PerfModel::record(const std::string& device, const std::string& op, const std::string& signature, double ns) {
  if (!(ns >= 0) || ns == kInf) return;  // a failed or nonsensical timing teaches nothing
  Stats& s = ops_[key3(device, op, signature)];
  ++s.count;
  const double delta = ns - s.mean;
  s.mean += delta / s.count;
  s.m2 += delta * (ns - s.mean);
}

std::optional<double> PerfModel::cost(const std::string& device, const std::string& op,
                                      const std::string& signature) const {
  auto it = ops_.find(key3(device, op, signature));
  if (it == ops_.end() || it->second.count == 0) return std::nullopt;
  return it->second.mean;
}

int PerfModel::samples(const std::string& device, const std::string& op, const std::string& signature) const {
  auto it = ops_.find(key3(device, op, signature));
  return it == ops_.end() ? 0 : it->second.count;
}

void PerfModel::record_transfer(const std::string& from, const std::string& to, double bytes, double ns) {
  if (!(ns >= 0) || !(bytes >= 0) || ns == kInf || bytes == kInf) return;
  Fit& f = transfers_[key2(from, to)];
  ++f.count;
  f.sx += bytes, f.sy += ns, f.sxx += bytes * bytes, f.sxy += bytes * ns;
}

std::optional<Link> PerfModel::transfer(const std::string& from, const std::string& to) const {
  auto it = transfers_.find(key2(from, to));
  if (it == transfers_.end()) return std::nullopt;
  const Fit& f = it->second;
  const double denom = f.count * f.sxx - f.sx * f.sx;
  if (f.count < 2 || denom <= 1e-9 * std::max(1.0, f.sxx * f.count)) return std::nullopt;
  const double per_byte = std::max(0.0, (f.count * f.sxy - f.sx * f.sy) / denom);
  const double latency = std::max(0.0, (f.sy - per_byte * f.sx) / f.count);
  return Link{latency, per_byte > 0 ? 1.0 / per_byte : kInf};
}

int PerfModel::apply(Instance& inst, const std::vector<std::string>& signatures) const {
  int replaced = 0;
  for (int t = 0; t < inst.num_tasks() && t < static_cast<int>(signatures.size()); ++t)
    for (int d = 0; d < inst.num_devices(); ++d) {
      if (!inst.supported(t, d)) continue;  // a measurement never makes an op supported
      if (auto c = cost(inst.devices[d].name, inst.tasks[t].op, signatures[t])) {
        inst.tasks[t].cost_ns[d] = *c;
        ++replaced;
      }
    }
  for (int a = 0; a < inst.num_devices(); ++a)
    for (int b = 0; b < inst.num_devices(); ++b)
      if (a != b)
        if (auto l = transfer(inst.devices[a].name, inst.devices[b].name)) inst.link(a, b) = *l;
  return replaced;
}

static std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : key) {
    if (c == '\x1f') parts.push_back(cur), cur.clear();
    else cur += c;
  }
  parts.push_back(cur);
  return parts;
}

std::string PerfModel::to_json() const {
  json ops = json::array(), transfers = json::array();
  for (const auto& [key, s] : ops_) {
    const auto p = split_key(key);
    ops.push_back({{"device", p[0]}, {"op", p[1]}, {"signature", p[2]}, {"count", s.count}, {"mean_ns", s.mean},
                   {"m2", s.m2}});
  }
  for (const auto& [key, f] : transfers_) {
    const auto p = split_key(key);
    transfers.push_back({{"from", p[0]}, {"to", p[1]}, {"count", f.count}, {"sum_bytes", f.sx}, {"sum_ns", f.sy},
                         {"sum_bytes2", f.sxx}, {"sum_bytes_ns", f.sxy}});
  }
  return json{{"format", "hxrt-perf-model"}, {"version", 1}, {"ops", ops}, {"transfers", transfers}}.dump(1);
}

PerfModel PerfModel::from_json(const std::string& text) {
  PerfModel m;
  try {
    const json j = json::parse(text);
    if (j.value("format", "") != "hxrt-perf-model" || j.value("version", 0) != 1)
      throw std::invalid_argument("perf model: not an hxrt-perf-model version 1");
    for (const json& o : j.at("ops")) {
      Stats s{o.at("count").get<int>(), o.at("mean_ns").get<double>(), o.value("m2", 0.0)};
      if (s.count < 0 || !(s.mean >= 0)) throw std::invalid_argument("perf model: negative count or time");
      m.ops_[key3(o.at("device").get<std::string>(), o.at("op").get<std::string>(),
                  o.at("signature").get<std::string>())] = s;
    }
    for (const json& t : j.at("transfers"))
      m.transfers_[key2(t.at("from").get<std::string>(), t.at("to").get<std::string>())] =
          Fit{t.at("count").get<int>(), t.at("sum_bytes").get<double>(), t.at("sum_ns").get<double>(),
              t.at("sum_bytes2").get<double>(), t.at("sum_bytes_ns").get<double>()};
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("perf model: malformed: ") + e.what());
  }
  return m;
}

PerfModel PerfModel::load(const std::string& path) {
  if (!std::filesystem::exists(path)) return {};
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return from_json(ss.str());
}

void PerfModel::save(const std::string& path) const {
  // Write then rename, so a crash never leaves half a model behind.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) throw std::runtime_error("cannot write " + tmp);
    out << to_json() << '\n';
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace hxrt::sched
