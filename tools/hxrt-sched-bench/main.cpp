// hxrt-sched-bench: the scheduler against the baselines on the same instances.
//
//   hxrt-sched-bench random --count 1000 --q 4 --seed 1 --out DIR   HEFT-paper random DAGs
//   hxrt-sched-bench small  --count 200 --v 10 --q 4 --out DIR      plus the exact optimum
//   hxrt-sched-bench scale  --v 10000,100000 --q 4                   scheduler wall time
//   hxrt-sched-bench run INSTANCE.json [--gantt F.svg] [--trace F.json]   replay one instance
//   hxrt-sched-bench gen --v 50 --seed 3 --out F.json                write a random instance
//
// random/small write DIR/instances.csv (one row per instance and algorithm),
// DIR/summary.json, DIR/summary.md and DIR/plot.svg. Exits 1 if any schedule is
// invalid or a heuristic beats the exact optimum.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "scheduler/exact.hpp"
#include "scheduler/export.hpp"
#include "scheduler/heuristics.hpp"
#include "scheduler/random_dag.hpp"
#include "scheduler/scheduler.hpp"

namespace fs = std::filesystem;
using namespace hxrt::sched;

namespace {

using Clock = std::chrono::steady_clock;

const std::vector<std::string> kAlgorithms{"best-single", "priority-first-fit", "online-eft", "heft", "peft", "hxrt"};

struct Run {
  double makespan = 0, ms = 0;
  int duplicates = 0;  // recomputed task instances; the exact search schedules without them
};

struct Record {
  RandomDagParams params;
  double lower_bound = 0, cp_min = 0, optimum = -1;
  bool optimum_proven = false;
  std::vector<Run> runs;  // kAlgorithms order
};

int g_invalid = 0;

Run timed(const Instance& inst, const std::function<Schedule()>& fn, const char* name) {
  const auto t0 = Clock::now();
  Schedule s = fn();
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const auto errors = validate(inst, s);
  if (!errors.empty()) {
    ++g_invalid;
    std::cerr << "INVALID " << name << ": " << errors.front() << "\n";
  }
  return {s.makespan, ms, static_cast<int>(s.duplicates.size())};
}

Record evaluate(const Instance& inst, const RandomDagParams& params, const Options& opt, bool exact) {
  Record r;
  r.params = params;
  r.lower_bound = lower_bound(inst);
  r.cp_min = critical_path_min_cost(inst);
  r.runs.push_back(timed(inst, [&] { return best_single_device(inst); }, "best-single"));
  r.runs.push_back(timed(inst, [&] { return priority_first_fit(inst); }, "priority-first-fit"));
  r.runs.push_back(timed(inst, [&] { return online_eft(inst); }, "online-eft"));
  r.runs.push_back(timed(inst, [&] { return heft(inst); }, "heft"));
  r.runs.push_back(timed(inst, [&] { return peft(inst); }, "peft"));
  r.runs.push_back(timed(inst, [&] { return schedule(inst, opt).best; }, "hxrt"));
  if (exact) {
    // The exact search covers schedules without duplicates; a heuristic that
    // duplicated may legitimately go below its optimum, so it gives no bound.
    double ub = kInf;
    for (const Run& run : r.runs)
      if (run.duplicates == 0) ub = std::min(ub, run.makespan);
    const ExactResult ex = exact_optimum(inst, ub);
    r.optimum_proven = ex.proven;
    if (ex.found) {
      if (!validate(inst, ex.schedule).empty()) ++g_invalid, std::cerr << "INVALID exact schedule\n";
      r.optimum = ex.schedule.makespan;
    } else {
      r.optimum = ub;  // proven: nothing shorter than the best heuristic exists
    }
  }
  return r;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = p * (v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / v.size();
}

nlohmann::json summarise(const std::vector<const Record*>& recs) {
  nlohmann::json out;
  const size_t heft_i = 3, single_i = 0;
  for (size_t a = 0; a < kAlgorithms.size(); ++a) {
    std::vector<double> ratio, slr, over_lb, ms, gap;
    int worse_single = 0, beat_opt = 0, beat_opt_by_duplication = 0, duplicated = 0;
    for (const Record* r : recs) {
      const double m = r->runs[a].makespan;
      ratio.push_back(m / r->runs[heft_i].makespan);
      slr.push_back(m / r->cp_min);
      over_lb.push_back(m / r->lower_bound);
      ms.push_back(r->runs[a].ms);
      worse_single += m > r->runs[single_i].makespan * (1 + 1e-9);
      duplicated += r->runs[a].duplicates > 0;
      if (r->optimum > 0) {
        gap.push_back(m / r->optimum - 1);
        const bool below = m < r->optimum * (1 - 1e-9);
        beat_opt += below && r->runs[a].duplicates == 0;
        beat_opt_by_duplication += below && r->runs[a].duplicates > 0;
      }
    }
    nlohmann::json j = {{"instances", recs.size()},
                        {"mean_vs_heft", mean(ratio)},
                        {"p10_vs_heft", percentile(ratio, 0.1)},
                        {"p50_vs_heft", percentile(ratio, 0.5)},
                        {"p90_vs_heft", percentile(ratio, 0.9)},
                        {"mean_slr", mean(slr)},
                        {"mean_over_lower_bound", mean(over_lb)},
                        {"share_worse_than_best_single", static_cast<double>(worse_single) / recs.size()},
                        {"mean_ms", mean(ms)},
                        {"max_ms", ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end())},
                        {"share_with_duplicates", static_cast<double>(duplicated) / recs.size()}};
    if (!gap.empty()) {
      j["mean_gap_to_optimum"] = mean(gap);
      j["max_gap_to_optimum"] = *std::max_element(gap.begin(), gap.end());
      j["beats_optimum"] = beat_opt;  // without duplicates: a bug in the search or the validator
      j["below_optimum_by_duplication"] = beat_opt_by_duplication;
      if (beat_opt) ++g_invalid;
    }
    out[kAlgorithms[a]] = j;
  }
  // What no schedule can beat: the lower bound relative to HEFT. Its
  // percentiles bound every algorithm's percentiles from below.
  std::vector<double> bound_ratio;
  int below_bound_at_15 = 0;
  for (const Record* r : recs) {
    bound_ratio.push_back(r->lower_bound / r->runs[heft_i].makespan);
    below_bound_at_15 += 0.85 * r->runs[heft_i].makespan < r->lower_bound;
  }
  out["lower_bound"] = {{"p10_vs_heft", percentile(bound_ratio, 0.1)},
                        {"p50_vs_heft", percentile(bound_ratio, 0.5)},
                        {"p90_vs_heft", percentile(bound_ratio, 0.9)},
                        {"share_where_15pct_below_heft_is_under_bound",
                         static_cast<double>(below_bound_at_15) / std::max<size_t>(1, recs.size())}};
  return out;
}

std::string family_of(const Record& r) { return fmt::format("ccr={}", r.params.ccr); }

std::string markdown(const nlohmann::json& summary, bool exact) {
  std::string md;
  for (const auto& [family, algos] : summary.items()) {
    md += fmt::format("\n**{}** ({} instances)\n\n", family, algos["hxrt"]["instances"].get<int>());
    md += "| algorithm | mean vs HEFT | p10 | p50 | p90 | SLR | / lower bound | worse than best single |";
    md += exact ? " mean gap to opt | max gap |" : "";
    md += " mean ms | max ms |\n|---|---|---|---|---|---|---|---|";
    md += exact ? "---|---|" : "";
    md += "---|---|\n";
    for (const std::string& a : kAlgorithms) {
      const auto& j = algos[a];
      md += fmt::format("| {} | {:.4f} | {:.4f} | {:.4f} | {:.4f} | {:.3f} | {:.3f} | {:.1f}% |", a,
                        j["mean_vs_heft"].get<double>(), j["p10_vs_heft"].get<double>(), j["p50_vs_heft"].get<double>(),
                        j["p90_vs_heft"].get<double>(), j["mean_slr"].get<double>(),
                        j["mean_over_lower_bound"].get<double>(), 100 * j["share_worse_than_best_single"].get<double>());
      if (exact)
        md += fmt::format(" {:.2f}% | {:.2f}% |", 100 * j["mean_gap_to_optimum"].get<double>(),
                          100 * j["max_gap_to_optimum"].get<double>());
      md += fmt::format(" {:.3f} | {:.3f} |\n", j["mean_ms"].get<double>(), j["max_ms"].get<double>());
    }
    const auto& b = algos["lower_bound"];
    md += fmt::format(
        "\nLower bound / HEFT (no schedule goes below it): p10 {:.4f}, p50 {:.4f}, p90 {:.4f}; "
        "on {:.1f}% of instances a makespan 15% below HEFT's would be under the lower bound.\n",
        b["p10_vs_heft"].get<double>(), b["p50_vs_heft"].get<double>(), b["p90_vs_heft"].get<double>(),
        100 * b["share_where_15pct_below_heft_is_under_bound"].get<double>());
    const auto& h = algos["hxrt"];
    md += fmt::format("hxrt duplicated tasks on {:.1f}% of instances", 100 * h["share_with_duplicates"].get<double>());
    if (exact)
      md += fmt::format("; below the exact no-duplication optimum by duplicating on {} instance(s)",
                        h["below_optimum_by_duplication"].get<int>());
    md += ".\n";
  }
  return md;
}

// Bars: mean makespan relative to HEFT per family and algorithm.
std::string plot_svg(const nlohmann::json& summary) {
  const double bar = 12, group_gap = 30, height = 320, top = 30, base = top + 220;
  std::vector<std::string> families;
  for (const auto& [f, _] : summary.items()) families.push_back(f);
  const double width = 80 + families.size() * (kAlgorithms.size() * bar + group_gap) + 180;
  static const char* colours[] = {"#bab0ac", "#9c755f", "#76b7b2", "#4e79a7", "#f28e2b", "#e15759"};
  double vmax = 0;
  for (const auto& f : families)
    for (const auto& a : kAlgorithms) vmax = std::max(vmax, summary[f][a]["mean_vs_heft"].get<double>());
  vmax = std::max(1.2, std::ceil(vmax * 10) / 10);
  auto y = [&](double v) { return base - 220 * v / vmax; };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"10\">\n<text x=\"60\" y=\"16\" font-size=\"12\">mean makespan relative to HEFT (lower is "
      "better)</text>\n",
      width, height);
  for (double v = 0; v <= vmax + 1e-9; v += 0.2)
    svg += fmt::format("<line x1=\"50\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\"/><text x=\"20\" "
                       "y=\"{:.1f}\">{:.1f}</text>\n",
                       width - 180, y(v), y(v), std::abs(v - 1) < 1e-9 ? "#333" : "#ddd", y(v) + 3, v);
  double x = 60;
  for (const auto& f : families) {
    for (size_t a = 0; a < kAlgorithms.size(); ++a) {
      const double v = summary[f][kAlgorithms[a]]["mean_vs_heft"].get<double>();
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{}\" height=\"{:.1f}\" fill=\"{}\"><title>{} {}: "
                         "{:.3f}</title></rect>\n",
                         x, y(v), bar - 2, base - y(v), colours[a], f, kAlgorithms[a], v);
      x += bar;
    }
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\">{}</text>\n", x - kAlgorithms.size() * bar, base + 14, f);
    x += group_gap;
  }
  for (size_t a = 0; a < kAlgorithms.size(); ++a)
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" "
                       "y=\"{}\">{}</text>\n",
                       width - 160, top + 14 * a, colours[a], width - 145, top + 14 * a + 9, kAlgorithms[a]);
  return svg + "</svg>\n";
}

std::vector<double> parse_list(const std::string& s) {
  std::vector<double> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t comma = s.find(',', pos);
    const std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (!item.empty()) out.push_back(std::stod(item));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (out.empty()) throw std::invalid_argument("empty list '" + s + "'");
  return out;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  out << text;
}

struct SweepArgs {
  int count = 1000, q = 4;
  uint64_t seed = 1;
  std::string v = "20,40,60,80,100", ccr = "0.1,0.5,1,5,10", alpha = "0.5,1,2", beta = "0.1,0.25,0.5,0.75,1",
              degree = "1,2,3,4,5";
  double support = 1.0;
  std::string out = "sched-bench";
  std::string save_instances;
};

int sweep(const SweepArgs& args, const Options& opt, bool exact) {
  const auto vs = parse_list(args.v), ccrs = parse_list(args.ccr), alphas = parse_list(args.alpha),
             betas = parse_list(args.beta), degrees = parse_list(args.degree);
  Rng pick(args.seed);
  std::vector<Record> records;
  const auto t0 = Clock::now();
  for (int i = 0; i < args.count; ++i) {
    RandomDagParams p;
    // CCR cycles so every family gets the same count; the rest is drawn from the lists.
    p.ccr = ccrs[i % ccrs.size()];
    p.v = static_cast<int>(vs[pick.below(static_cast<int>(vs.size()))]);
    p.alpha = alphas[pick.below(static_cast<int>(alphas.size()))];
    p.beta = betas[pick.below(static_cast<int>(betas.size()))];
    p.out_degree = static_cast<int>(degrees[pick.below(static_cast<int>(degrees.size()))]);
    p.q = args.q;
    p.support = args.support;
    p.seed = args.seed * 1000003 + i;
    const Instance inst = random_dag(p);
    if (!args.save_instances.empty()) {
      fs::create_directories(args.save_instances);
      write_instance(inst, (fs::path(args.save_instances) / fmt::format("instance_{:05}.json", i)).string());
    }
    records.push_back(evaluate(inst, p, opt, exact));
    if ((i + 1) % 100 == 0)
      std::cerr << fmt::format("{} / {} instances, {:.1f} s\n", i + 1, args.count,
                               std::chrono::duration<double>(Clock::now() - t0).count());
  }
  fs::create_directories(args.out);
  std::string csv = "instance,seed,v,ccr,alpha,beta,out_degree,q,lower_bound,cp_min,optimum,algorithm,makespan,ms\n";
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    for (size_t a = 0; a < kAlgorithms.size(); ++a)
      csv += fmt::format("{},{},{},{},{},{},{},{},{:.6f},{:.6f},{:.6f},{},{:.6f},{:.4f}\n", i, r.params.seed, r.params.v,
                         r.params.ccr, r.params.alpha, r.params.beta, r.params.out_degree, r.params.q, r.lower_bound,
                         r.cp_min, r.optimum, kAlgorithms[a], r.runs[a].makespan, r.runs[a].ms);
  }
  write_file(fs::path(args.out) / "instances.csv", csv);
  nlohmann::json summary;
  std::map<std::string, std::vector<const Record*>> families;
  std::vector<const Record*> all;
  for (const Record& r : records) families[family_of(r)].push_back(&r), all.push_back(&r);
  for (const auto& [f, recs] : families) summary[f] = summarise(recs);
  summary["all"] = summarise(all);
  int unproven = 0;
  for (const Record& r : records) unproven += exact && !r.optimum_proven;
  nlohmann::json doc = {{"families", summary},
                        {"options", {{"max_evaluations", opt.max_evaluations}, {"time_budget_ms", opt.time_budget_ms},
                                     {"duplicate", opt.duplicate}}},
                        {"invalid_schedules", g_invalid},
                        {"optimum_unproven", unproven}};
  write_file(fs::path(args.out) / "summary.json", doc.dump(1) + "\n");
  const std::string md = markdown(summary, exact);
  write_file(fs::path(args.out) / "summary.md", md);
  write_file(fs::path(args.out) / "plot.svg", plot_svg(summary));
  std::cout << md << fmt::format("\ninvalid schedules: {}; optimum unproven: {}; wrote {}\n", g_invalid, unproven,
                                 args.out);
  return g_invalid ? 1 : 0;
}

int scale(const std::string& vs, int q, uint64_t seed, const Options& opt) {
  // CPU time next to wall time: on a shared machine the wall clock also counts waiting.
  std::cout << "| ops | edges | HEFT ms | PEFT ms | hxrt ms (total) | hxrt CPU ms | refinement evaluations | hxrt / HEFT "
               "makespan |\n|---|---|---|---|---|---|---|---|\n";
  for (double v : parse_list(vs)) {
    RandomDagParams p;
    p.v = static_cast<int>(v), p.q = q, p.seed = seed, p.alpha = 1, p.out_degree = 3, p.ccr = 1, p.beta = 0.5;
    const Instance inst = random_dag(p);
    auto ms_of = [](auto&& fn) {
      const auto t0 = Clock::now();
      auto s = fn();
      return std::make_pair(std::chrono::duration<double, std::milli>(Clock::now() - t0).count(), s);
    };
    const auto [heft_ms, h] = ms_of([&] { return heft(inst); });
    const auto [peft_ms, pf] = ms_of([&] { return peft(inst); });
    const std::clock_t c0 = std::clock();
    const auto [hxrt_ms, r] = ms_of([&] { return schedule(inst, opt); });
    const double hxrt_cpu_ms = 1000.0 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    for (const Schedule* s : {&h, &pf, &r.best})
      if (!validate(inst, *s).empty()) ++g_invalid, std::cerr << "INVALID " << s->algorithm << "\n";
    std::cout << fmt::format("| {} | {} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {} | {:.4f} |\n", inst.num_tasks(),
                             inst.edges.size(), heft_ms, peft_ms, hxrt_ms, hxrt_cpu_ms, r.evaluations,
                             r.best.makespan / h.makespan);
  }
  return g_invalid ? 1 : 0;
}

int replay(const std::string& path, const Options& opt, const std::string& gantt, const std::string& trace) {
  const Instance inst = read_instance(path);
  const Record r = evaluate(inst, RandomDagParams{}, opt, inst.num_tasks() <= 12);
  std::cout << fmt::format("{}: {} tasks, {} edges, {} devices; lower bound {:.1f}\n", path, inst.num_tasks(),
                           inst.edges.size(), inst.num_devices(), r.lower_bound);
  for (size_t a = 0; a < kAlgorithms.size(); ++a)
    std::cout << fmt::format("  {:<20} makespan {:>14.1f}  ({:.3f} ms)\n", kAlgorithms[a], r.runs[a].makespan,
                             r.runs[a].ms);
  if (r.optimum > 0) std::cout << fmt::format("  {:<20} makespan {:>14.1f}\n", "exact optimum", r.optimum);
  const Schedule best = schedule(inst, opt).best;
  if (!gantt.empty()) write_file(gantt, gantt_svg(inst, best));
  if (!trace.empty()) write_file(trace, chrome_trace_json(inst, best));
  return g_invalid ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hxrt-sched-bench: hxrt's scheduler against the baselines"};
  app.require_subcommand(1);
  Options opt;
  auto add_options = [&](CLI::App* sub) {
    sub->add_option("--evaluations", opt.max_evaluations, "refinement re-simulations per instance")
        ->capture_default_str();
    sub->add_option("--time-budget-ms", opt.time_budget_ms, "wall-clock cap per scheduling call")->capture_default_str();
    sub->add_flag("!--no-duplication", opt.duplicate, "never recompute tasks on a consumer's device");
  };
  SweepArgs sw;
  auto add_sweep = [&](CLI::App* sub) {
    sub->add_option("--count", sw.count, "instances")->capture_default_str();
    sub->add_option("--q", sw.q, "devices")->capture_default_str();
    sub->add_option("--seed", sw.seed, "seed")->capture_default_str();
    sub->add_option("--v", sw.v, "task counts to draw from")->capture_default_str();
    sub->add_option("--ccr", sw.ccr, "CCR values (families)")->capture_default_str();
    sub->add_option("--alpha", sw.alpha, "shape values")->capture_default_str();
    sub->add_option("--beta", sw.beta, "heterogeneity values")->capture_default_str();
    sub->add_option("--out-degree", sw.degree, "out-degree values")->capture_default_str();
    sub->add_option("--support", sw.support, "probability a non-CPU device supports an op")->capture_default_str();
    sub->add_option("--out", sw.out, "output folder")->capture_default_str();
    sub->add_option("--save-instances", sw.save_instances, "also write every instance as JSON here");
    add_options(sub);
  };
  auto* random = app.add_subcommand("random", "random DAGs (Topcuoglu et al. 2002)");
  add_sweep(random);
  auto* small = app.add_subcommand("small", "small random DAGs with the exact optimum");
  add_sweep(small);
  std::string scale_v = "1000,10000,100000";
  int scale_q = 4;
  uint64_t scale_seed = 1;
  auto* sc = app.add_subcommand("scale", "scheduler wall time on large graphs");
  sc->add_option("--v", scale_v, "task counts")->capture_default_str();
  sc->add_option("--q", scale_q, "devices")->capture_default_str();
  sc->add_option("--seed", scale_seed, "seed")->capture_default_str();
  add_options(sc);
  std::string path, gantt, trace;
  auto* run = app.add_subcommand("run", "replay one instance file");
  run->add_option("instance", path, "instance JSON")->required();
  run->add_option("--gantt", gantt, "write hxrt's schedule as an SVG Gantt chart");
  run->add_option("--trace", trace, "write hxrt's schedule as Chrome trace JSON");
  add_options(run);
  RandomDagParams gp;
  std::string gen_out;
  auto* gen = app.add_subcommand("gen", "write one random instance");
  gen->add_option("--v", gp.v)->capture_default_str();
  gen->add_option("--q", gp.q)->capture_default_str();
  gen->add_option("--ccr", gp.ccr)->capture_default_str();
  gen->add_option("--alpha", gp.alpha)->capture_default_str();
  gen->add_option("--beta", gp.beta)->capture_default_str();
  gen->add_option("--out-degree", gp.out_degree)->capture_default_str();
  gen->add_option("--support", gp.support)->capture_default_str();
  gen->add_option("--seed", gp.seed)->capture_default_str();
  gen->add_option("--out", gen_out, "file")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    if (random->parsed()) {
      return sweep(sw, opt, false);
    }
    if (small->parsed()) return sweep(sw, opt, true);
    if (sc->parsed()) return scale(scale_v, scale_q, scale_seed, opt);
    if (run->parsed()) return replay(path, opt, gantt, trace);
    if (gen->parsed()) {
      write_instance(random_dag(gp), gen_out);
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "hxrt-sched-bench: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
