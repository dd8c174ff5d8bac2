// Execution traces: what ran where and when during one run, written as Chrome
// trace JSON (opens in Perfetto / chrome://tracing), with the predicted
// schedule beside the measured one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hxrt::host {

struct TraceRecord {
  std::string track;     // "cpu:0 stream", "host"
  std::string name;      // node name or "copy <value>"
  std::string category;  // "compute", "copy", "wait"
  double start_us = 0;   // from the start of the run
  double end_us = 0;
  uint64_t bytes = 0;    // copies: bytes moved
  int node = -1;         // compute: the graph node
  int device = -1;       // index into the session's devices
  // Copies: the hop's source and destination device (indices into the
  // session's devices; -1 = host memory). The performance model fits
  // transfer costs per hop from these.
  int copy_from = -1;
  int copy_to = -1;
  int value = -1;        // copies: the graph value moved
};

struct RunTrace {
  std::vector<TraceRecord> measured;
  std::vector<TraceRecord> predicted;
  // The run's start on the host's steady clock, us: shifts the measured times
  // of runs in flight together onto one timeline.
  double origin_us = 0;

  double measured_makespan_us() const;
  double predicted_makespan_us() const;
  // Share of copy time during which some compute ran on another track.
  double hidden_transfer_share() const;
  std::string to_chrome_json() const;
  // A Gantt chart of `records` (one row per track) as a standalone SVG.
  static std::string to_svg(const std::vector<TraceRecord>& records, const std::string& title);
  std::string summary() const;
};

}  // namespace hxrt::host
