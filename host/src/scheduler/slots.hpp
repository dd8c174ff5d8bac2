// Idle slots of one device, indexed so that insertion-based list scheduling finds
// the earliest fitting gap in O(log n) instead of scanning the device's timeline:
// a treap of the bounded gaps keyed by start, each node also holding the longest
// gap in its subtree; the unbounded gap after the last task is kept apart, so the
// common case (appending) does not touch the treap.
#pragma once

#include <cstdint>
#include <vector>

namespace hxrt::sched {

class IdleSlots {
 public:
  IdleSlots() { reset(); }
  void reset();  // one gap [0, inf)
  double tail() const { return tail_; }

  // Earliest start >= ready of an interval of length `length` that fits in a gap.
  double earliest(double ready, double length) const;
  // Marks [start, start + length) busy; it must lie inside one gap (as earliest() returns).
  void occupy(double start, double length);

 private:
  struct Node {
    double start, end, max_len;
    uint32_t priority;
    int left = -1, right = -1;
  };
  std::vector<Node> nodes_;
  std::vector<int> free_;
  int root_ = -1;
  double tail_ = 0;  // start of the unbounded last gap
  uint32_t rng_ = 0x9e3779b9u;

  int make(double start, double end);
  void update(int n);
  void split(int n, double key, int& left, int& right);  // left: start < key
  int merge(int a, int b);
  int floor_node(double key) const;  // gap with the largest start <= key, or -1
  int first_fit_after(int n, double key, double length) const;  // smallest start > key with len >= length
  void erase(double start);
  void insert(double start, double end);
};

}  // namespace hxrt::sched
