// A schedule (device, start and finish of every task), the validator every
// produced schedule goes through, and the list-scheduling engine the heuristics
// and the refinement share.
#pragma once

#include <string>
#include <vector>

#include "scheduler/instance.hpp"
#include "scheduler/slots.hpp"

namespace hxrt::sched {

struct Schedule {
  std::string algorithm;
  std::vector<int> device;      // per task
  std::vector<double> start;    // ns
  std::vector<double> finish;   // ns
  std::vector<int> order;       // the priority order it was built in (topological)
  double makespan = 0;

  // Extra instances of (cheap) tasks recomputed on a consumer's device, so the
  // consumers there read a local copy instead of waiting for a transfer. A
  // value is available on a device at the earliest of: an instance of its
  // producer there finishing, or any instance's finish plus the transfer.
  struct Duplicate {
    int task;
    int device;  // never the task's own device; at most one duplicate per task and device
    double start, finish;
  };
  std::vector<Duplicate> duplicates;

  // The instance of the edge's source that the value reaches `device` from
  // first (its device and finish), and when it arrives there.
  struct Source {
    int device;
    double ready, arrival;
  };
  Source source(const Instance& instance, int edge, int device) const;
  double arrival(const Instance& instance, int edge, int device) const { return source(instance, edge, device).arrival; }

  // One transfer per edge and consumer instance (the task or a duplicate)
  // that reads the value from another device.
  struct Transfer {
    int edge;
    int from, to;
    double start, finish;
  };
  std::vector<Transfer> transfers(const Instance& instance) const;
};

// Peak bytes per device under the memory model of docs/scheduler.md: weights
// resident all run; an output lives on its device from its producer's start until
// its last local reader or outgoing transfer is done, and on each remote device
// from the transfer start until the last reader there is done; graph outputs to the end.
std::vector<double> memory_peaks(const Instance& instance, const Schedule& schedule);
// Sum over devices of the bytes above capacity (0 = fits).
double memory_overflow(const Instance& instance, const Schedule& schedule);

// Every violated constraint as a sentence; empty = valid. Checks: every task on a
// device that supports it with duration = its cost; precedence with transfer time;
// no two tasks overlap on a device; peak memory within capacity; makespan = last finish.
std::vector<std::string> validate(const Instance& instance, const Schedule& schedule, bool check_memory = true);

// Insertion-based list scheduling with a fixed device per task, in a given
// topological order: each task starts at the earliest idle slot on its device at
// or after its inputs arrive. HEFT's and PEFT's schedules are exactly this for
// their own assignment and order, so refinement re-simulates with it.
class ListScheduler {
 public:
  explicit ListScheduler(const Instance& instance);
  void reset();
  // When all inputs of `task` can be on `device` (its predecessors must be placed).
  double ready_time(int task, int device) const;
  // Earliest start on `device` (insertion into idle gaps) and the matching finish.
  double earliest_start(int task, int device) const;
  void place(int task, int device, double start);
  // A duplicate of an already placed task on another device (Schedule::duplicates).
  void place_duplicate(int task, int device, double start);

  const std::vector<int>& device() const { return device_; }
  const std::vector<double>& start() const { return start_; }
  const std::vector<double>& finish() const { return finish_; }
  Schedule take(std::string algorithm, std::vector<int> order);

 private:
  const Instance& inst_;
  std::vector<IdleSlots> slots_;
  std::vector<int> device_;
  std::vector<double> start_, finish_;
  std::vector<std::vector<std::pair<int, double>>> copies_;  // per task: (device, finish) of its duplicates
  std::vector<int> touched_;                                 // tasks with copies_, to clear them cheaply
  std::vector<Schedule::Duplicate> duplicates_;
};

// The schedule for a fixed assignment and priority order (order must be topological).
// `duplicates[t]` (optional): further devices task t also runs on; entries equal
// to its own device are ignored.
Schedule simulate(const Instance& instance, const std::vector<int>& device, const std::vector<int>& order,
                  std::string algorithm = "simulate", const std::vector<std::vector<int>>* duplicates = nullptr);

// Tasks on the schedule's critical path (the chain that sets the makespan),
// following input arrivals and device occupancy back from the last finish.
std::vector<int> critical_path(const Instance& instance, const Schedule& schedule);

}  // namespace hxrt::sched
