// Static shape inference and constant folding over the host IR.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/ir.hpp"

namespace hxrt::host {

// Evaluates one node whose present inputs are all constants; the node's output
// dtypes and shapes are already set in `graph` when it is called. Returns one
// tensor per node output (nullptr for an omitted optional output), or an
// empty vector when it cannot evaluate the node (the outputs then stay
// non-constant; inference only fails later if a constant is required).
using ConstantFolder =
    std::function<std::vector<std::shared_ptr<const HostTensor>>(const Graph& graph, const Node& node)>;

// Sets the static shapes of runtime graph inputs (typically those with
// dynamic dims). Each shape must agree with the model's declared shape where
// that is static. Errors: INVALID_ARGUMENT naming the input.
void set_input_shapes(Graph& graph, const std::map<std::string, Shape>& shapes);

// Turns runtime graph inputs into compile-time constants with the given
// values (their data then determines shapes, e.g. a Reshape's shape fed as a
// graph input); they are removed from graph.inputs. Errors: INVALID_ARGUMENT
// when a name is not a runtime input or the value's dtype differs.
void bind_input_constants(Graph& graph, const std::map<std::string, HostTensor>& values);

// Walks the nodes in (topological) order and sets every node output's dtype
// and static shape. Shape and Size outputs become constants directly, and so
// do data-preserving ops (Identity, Reshape, Flatten, Squeeze, Unsqueeze) of
// constants; other deterministic nodes whose inputs are all constant are
// evaluated with `fold` (may be empty: no folding) and their results stored as
// constants. Throws Error (INVALID_ARGUMENT for bad inputs or a graph input
// with an unknown shape, UNIMPLEMENTED for an op with no shape function or a
// shape-determining input that is not a compile-time constant), naming the
// node, its op and what is missing.
void infer_shapes(Graph& graph, const ConstantFolder& fold);

// Infers one node's outputs from its inputs (no folding). Exposed for tests
// and for passes that add nodes after import.
void infer_node_shapes(Graph& graph, size_t node_index);

// False for ops whose result is not a function of their inputs
// (RandomNormal, Bernoulli, Dropout in training mode, ...): never folded.
bool is_deterministic(const Graph& graph, const Node& node);

}  // namespace hxrt::host
