#include "scheduler/slots.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace hxrt::sched {

static constexpr double kForever = std::numeric_limits<double>::infinity();

void IdleSlots::reset() {
  nodes_.clear();
  free_.clear();
  root_ = -1;
  tail_ = 0;
}

int IdleSlots::make(double start, double end) {
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 17;
  rng_ ^= rng_ << 5;
  Node node{start, end, end - start, rng_};
  if (!free_.empty()) {
    const int i = free_.back();
    free_.pop_back();
    nodes_[i] = node;
    return i;
  }
  nodes_.push_back(node);
  return static_cast<int>(nodes_.size()) - 1;
}

void IdleSlots::update(int n) {
  Node& node = nodes_[n];
  node.max_len = node.end - node.start;
  if (node.left >= 0) node.max_len = std::max(node.max_len, nodes_[node.left].max_len);
  if (node.right >= 0) node.max_len = std::max(node.max_len, nodes_[node.right].max_len);
}

void IdleSlots::split(int n, double key, int& left, int& right) {
  if (n < 0) {
    left = right = -1;
    return;
  }
  if (nodes_[n].start < key) {
    split(nodes_[n].right, key, nodes_[n].right, right);
    left = n;
  } else {
    split(nodes_[n].left, key, left, nodes_[n].left);
    right = n;
  }
  update(n);
}

int IdleSlots::merge(int a, int b) {
  if (a < 0) return b;
  if (b < 0) return a;
  if (nodes_[a].priority > nodes_[b].priority) {
    nodes_[a].right = merge(nodes_[a].right, b);
    update(a);
    return a;
  }
  nodes_[b].left = merge(a, nodes_[b].left);
  update(b);
  return b;
}

int IdleSlots::floor_node(double key) const {
  int n = root_, best = -1;
  while (n >= 0) {
    if (nodes_[n].start <= key) {
      best = n;
      n = nodes_[n].right;
    } else {
      n = nodes_[n].left;
    }
  }
  return best;
}

int IdleSlots::first_fit_after(int n, double key, double length) const {
  // Descends only into subtrees whose longest gap fits, so the search stays logarithmic.
  while (n >= 0) {
    const Node& node = nodes_[n];
    if (node.max_len < length) return -1;
    if (node.start <= key) {
      n = node.right;
      continue;
    }
    if (node.left >= 0 && nodes_[node.left].max_len >= length) {
      const int found = first_fit_after(node.left, key, length);
      if (found >= 0) return found;
    }
    if (node.end - node.start >= length) return n;
    n = node.right;
  }
  return -1;
}

double IdleSlots::earliest(double ready, double length) const {
  const double append = std::max(ready, tail_);
  if (root_ < 0 || nodes_[root_].max_len < length) return append;
  const int containing = floor_node(ready);
  if (containing >= 0 && nodes_[containing].end - ready >= length) return ready;
  const int next = first_fit_after(root_, ready, length);
  return next >= 0 && nodes_[next].start < append ? nodes_[next].start : append;
}

void IdleSlots::erase(double start) {
  // Gaps are disjoint, so starts are unique: cut out the one node in [start, next double).
  int left, mid, right;
  split(root_, start, left, mid);
  split(mid, std::nextafter(start, kForever), mid, right);
  if (mid >= 0) free_.push_back(mid);
  root_ = merge(left, right);
}

void IdleSlots::insert(double start, double end) {
  int left, right;
  split(root_, start, left, right);
  root_ = merge(merge(left, make(start, end)), right);
}

void IdleSlots::occupy(double start, double length) {
  if (length <= 0) return;  // a zero-length task takes no time on the device
  if (start >= tail_) {
    if (start > tail_) insert(tail_, start);
    tail_ = start + length;
    return;
  }
  const int g = floor_node(start);
  if (g < 0 || nodes_[g].end < start + length * (1 - 1e-12) - 1e-9)
    throw std::logic_error("IdleSlots::occupy: interval is not inside an idle gap");
  const double gap_start = nodes_[g].start, gap_end = nodes_[g].end;
  const double busy_end = std::min(start + length, gap_end);
  erase(gap_start);
  if (start > gap_start) insert(gap_start, start);
  if (gap_end > busy_end) insert(busy_end, gap_end);
}
}  // namespace hxrt::sched
