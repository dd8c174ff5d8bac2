// Randomized single-op cases (fixed seed, reproducible) with their expected
// outputs from the suite's reference implementation, and the one table of
// per-op tolerances (documented in docs/conformance.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/ir.hpp"
#include "suite.hpp"
#include "tensor.hpp"

namespace hxrt::conformance {

struct CaseInput {
  Tensor t;
  bool constant = false;  // passed as constant_data (weights, shape inputs)
  bool omitted = false;   // an omitted optional input (NULL in the descriptor)
};

struct OpCase {
  std::string op;
  int64_t opset = 17;
  std::vector<host::Attribute> attributes;
  std::vector<CaseInput> inputs;
  std::vector<Tensor> expected;  // one per output
  Tolerance tolerance;
  int index = 0;                 // among this op's cases
  // "MatMul f32 [2,3]x[3,4] -> [2,4] {transB=1}"
  std::string label() const;
};

// Per-op tolerance for float outputs compared with the double reference:
// |observed - expected| <= atol + rtol * |expected|. Integer and bool outputs
// are always exact.
Tolerance tolerance_for(const std::string& op);
// The table itself, for docs and --list: (ops, rtol, atol, why).
struct ToleranceRow {
  std::string ops;
  Tolerance tolerance;
  std::string why;
};
const std::vector<ToleranceRow>& tolerance_table();

// Cases of every op in the catalog. `wide` gives the full profile's sweep:
// more cases per op, larger and empty shapes, more dtypes; its cases differ
// from the core ones.
std::vector<OpCase> op_cases(uint64_t seed, bool wide);
std::vector<std::string> describe_op_catalog(const Options& options);

// A one-node graph for `c`: runtime inputs are the non-constant, non-omitted
// inputs in order; outputs carry the expected shapes and dtypes.
host::Graph build_graph(const OpCase& c);
host::Attribute attr_int(const std::string& name, int64_t v);
host::Attribute attr_float(const std::string& name, float v);
host::Attribute attr_ints(const std::string& name, std::vector<int64_t> v);
host::Attribute attr_string(const std::string& name, const std::string& v);

}  // namespace hxrt::conformance
