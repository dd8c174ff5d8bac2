// Runs groups in forked children and collects their results: a child that
// dies by a signal or runs past its time fails the check it was in, and the
// group resumes after that check in a fresh child.
#pragma once

#include <vector>

#include "suite.hpp"

namespace hxrt::conformance {

std::vector<Result> run_group_isolated(const GroupInfo& group, const Options& options);

}  // namespace hxrt::conformance
