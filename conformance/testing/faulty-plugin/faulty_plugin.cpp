// A small but complete plugin that the conformance suite must be able to fail.
// Built once per defect with -DHXRT_FAULT=<n> (CMakeLists.txt): each variant
// carries exactly one defect, and variant 0 ("clean") none. Asynchronous
// streams (plugin_support's HostStream) so ordering defects are observable.
//
// Ops: float32 Add, Mul (equal shapes), Relu, MatMul (2-D), Softmax (last axis).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hxrt/plugin_abi.h"
#include "hxrt/plugin_support/host_stream.hpp"
#include "hxrt/plugin_support/node_reader.hpp"
#include "hxrt/plugin_support/status.hpp"

#define FAULT_CLEAN 0
#define FAULT_WRONG_RESULT 1        // Mul: element 0 off by one
#define FAULT_COPY_OFFSET 2         // copy_to_device writes one byte past dst_offset
#define FAULT_IGNORES_STRUCT_SIZE 3 // never checks struct_size; writes whole output structs
#define FAULT_NULL_CRASH 4          // buffer_allocate(NULL) dereferences NULL
#define FAULT_WRONG_STATUS 5        // out-of-range copies answer INTERNAL
#define FAULT_EARLY_EVENT 6         // event_record signals at once, not when the stream gets there
#define FAULT_LEAK 7                // buffer_destroy frees nothing
#define FAULT_WRONG_VERSION 8       // accepts a host of another major
#define FAULT_CLAIMS_UNRUNNABLE 9   // claims Sigmoid, which compile refuses
#define FAULT_NEGATIVE_COST 10      // estimated_ns < 0
#define FAULT_UNALIGNED_COPY 11     // copies with an offset or size not a multiple of 4 lose their last byte
#define FAULT_NOT_THREAD_SAFE 12    // copy_to_host stages through one unguarded global buffer
#define FAULT_EMPTY_MESSAGE 13      // status objects carry an empty message

#ifndef HXRT_FAULT
#define HXRT_FAULT FAULT_CLEAN
#endif
#ifndef HXRT_FAULT_NAME
#define HXRT_FAULT_NAME "faulty_clean"
#endif

using hxrt::plugin::PluginError;

namespace {

constexpr uint64_t kMemoryBytes = 256ull << 20;
constexpr size_t kAlignment = 64;

#define V1_SIZE(type, field) (offsetof(type, field) + sizeof(((type*)nullptr)->field))

void check_size(size_t given, size_t minimum, const char* name) {
#if HXRT_FAULT != FAULT_IGNORES_STRUCT_SIZE
  hxrt::plugin::require_struct_size(given, minimum, name);
#else
  (void)given, (void)minimum, (void)name;
#endif
}

#define REQUIRE(args, type, field)                                 \
  hxrt::plugin::require_non_null(args, "args");                    \
  check_size((args)->struct_size, V1_SIZE(type, field), #type)

void fail(hxrt_status_code code, const std::string& message) {
#if HXRT_FAULT == FAULT_EMPTY_MESSAGE
  (void)message;
  throw PluginError(code, "");
#else
  throw PluginError(code, message);
#endif
}

template <typename Body>
hxrt_plugin_status* guarded(Body&& body) noexcept {
#if HXRT_FAULT == FAULT_EMPTY_MESSAGE
  hxrt_plugin_status* s = hxrt::plugin::guard(body);
  if (s != nullptr) s->message.clear();
  return s;
#else
  return hxrt::plugin::guard(body);
#endif
}

}  // namespace

struct hxrt_device {
  std::atomic<uint64_t> used{0};
};

struct hxrt_plugin_context {
  hxrt_device device;
  hxrt_device* list[1] = {&device};
};

struct hxrt_buffer {
  hxrt_device* device = nullptr;
  uint8_t* data = nullptr;
  uint64_t size = 0;
};

struct hxrt_stream {
  hxrt::plugin::HostStream queue;
};

struct hxrt_event {
  hxrt::plugin::HostEvent event;
};

namespace {

enum class Op { kAdd, kMul, kRelu, kMatMul, kSoftmax, kSigmoid };

struct Plan {
  Op op = Op::kRelu;
  std::vector<int64_t> a, b, y;  // shapes
  double estimated_ns = 0;
};

// The one function that decides support, for query and compile alike (R5.3).
// Returns "" when supported, else writes the reason.
std::string plan_node(const hxrt_node_desc& node, Plan& plan, hxrt_support_reason& reason) {
  using hxrt::plugin::shape_of;
  std::string domain = node.domain ? node.domain : "";
  std::string op = node.op_type;
  reason = HXRT_UNSUPPORTED_OP;
  if (domain != "" && domain != "ai.onnx") return "domain " + domain + " is not supported";
  static const std::pair<const char*, Op> known[] = {{"Add", Op::kAdd},       {"Mul", Op::kMul},
                                                     {"Relu", Op::kRelu},     {"MatMul", Op::kMatMul},
                                                     {"Softmax", Op::kSoftmax}, {"Sigmoid", Op::kSigmoid}};
  bool found = false;
  for (const auto& [name, o] : known)
    if (op == name) found = true, plan.op = o;
#if HXRT_FAULT != FAULT_CLAIMS_UNRUNNABLE
  if (plan.op == Op::kSigmoid) found = false;
#endif
  if (!found) return "op " + op + " is not implemented";
  reason = HXRT_UNSUPPORTED_OPSET;
  if (node.opset_version < 7 && plan.op != Op::kMatMul && plan.op != Op::kSoftmax) return "opset too old";
  if (node.opset_version > 23) return "opset " + std::to_string(node.opset_version) + " is newer than 23";
  size_t nin = (plan.op == Op::kRelu || plan.op == Op::kSoftmax || plan.op == Op::kSigmoid) ? 1 : 2;
  reason = HXRT_UNSUPPORTED_OTHER;
  if (node.num_inputs != nin || node.num_outputs != 1 || !node.outputs[0] || !node.inputs[0] ||
      (nin == 2 && !node.inputs[1]))
    return op + " needs " + std::to_string(nin) + " inputs and 1 output";
  reason = HXRT_UNSUPPORTED_DTYPE;
  for (size_t i = 0; i < nin; ++i)
    if (node.inputs[i]->dtype != HXRT_DTYPE_FLOAT32) return "only float32";
  if (node.outputs[0]->dtype != HXRT_DTYPE_FLOAT32) return "only float32";
  plan.a = shape_of(*node.inputs[0]);
  if (nin == 2) plan.b = shape_of(*node.inputs[1]);
  plan.y = shape_of(*node.outputs[0]);
  reason = HXRT_UNSUPPORTED_SHAPE;
  double n = static_cast<double>(hxrt::plugin::element_count(plan.y));
  switch (plan.op) {
    case Op::kAdd:
    case Op::kMul:
      if (plan.a != plan.y || plan.b != plan.y) return "only equal shapes";
      plan.estimated_ns = 500 + n;
      break;
    case Op::kRelu:
    case Op::kSigmoid:
      if (plan.a != plan.y) return "output shape differs";
      plan.estimated_ns = 500 + n;
      break;
    case Op::kMatMul:
      if (plan.a.size() != 2 || plan.b.size() != 2 || plan.a[1] != plan.b[0]) return "only 2-D x 2-D";
      plan.estimated_ns = 500 + 2.0 * n * static_cast<double>(plan.a[1]);
      break;
    case Op::kSoftmax: {
      int64_t axis = -1;
      for (size_t i = 0; i < node.num_attributes; ++i)
        if (std::string(node.attributes[i]->name) == "axis") axis = node.attributes[i]->i;
      int64_t rank = static_cast<int64_t>(plan.a.size());
      if (rank == 0 || plan.a != plan.y) return "Softmax needs rank >= 1";
      if (node.opset_version < 13 || (axis != -1 && axis != rank - 1)) {
        reason = HXRT_UNSUPPORTED_ATTRIBUTE;
        return "only the last axis (opset 13+)";
      }
      plan.estimated_ns = 500 + 10 * n;
      break;
    }
  }
#if HXRT_FAULT == FAULT_NEGATIVE_COST
  plan.estimated_ns = -plan.estimated_ns;
#endif
  reason = HXRT_SUPPORTED;
  return "";
}

void run_op(const Plan& p, const float* a, const float* b, float* y) {
  size_t n = static_cast<size_t>(hxrt::plugin::element_count(p.y));
  switch (p.op) {
    case Op::kAdd: for (size_t i = 0; i < n; ++i) y[i] = a[i] + b[i]; break;
    case Op::kMul:
      for (size_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
#if HXRT_FAULT == FAULT_WRONG_RESULT
      if (n > 0) y[0] += 1.0f;
#endif
      break;
    case Op::kRelu: for (size_t i = 0; i < n; ++i) y[i] = a[i] > 0 ? a[i] : 0.0f; break;
    case Op::kSigmoid: for (size_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-a[i])); break;
    case Op::kMatMul: {
      int64_t m = p.a[0], k = p.a[1], nn = p.b[1];
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < nn; ++j) {
          double acc = 0;
          for (int64_t q = 0; q < k; ++q) acc += static_cast<double>(a[i * k + q]) * b[q * nn + j];
          y[i * nn + j] = static_cast<float>(acc);
        }
      break;
    }
    case Op::kSoftmax: {
      int64_t len = p.a.back();
      for (size_t o = 0; len > 0 && o < n / static_cast<size_t>(len); ++o) {
        const float* x = a + o * static_cast<size_t>(len);
        float* out = y + o * static_cast<size_t>(len);
        float mx = *std::max_element(x, x + len);
        double sum = 0;
        for (int64_t j = 0; j < len; ++j) sum += std::exp(static_cast<double>(x[j] - mx));
        for (int64_t j = 0; j < len; ++j) out[j] = static_cast<float>(std::exp(static_cast<double>(x[j] - mx)) / sum);
      }
      break;
    }
  }
}

struct Step {
  Plan plan;
  std::vector<int64_t> in, out;  // value indices
};

}  // namespace

struct hxrt_executable {
  size_t num_values = 0;
  std::vector<size_t> bytes;                            // per value
  std::vector<std::shared_ptr<std::vector<uint8_t>>> constants;  // per value (or null)
  std::vector<int64_t> inputs, outputs;
  std::vector<Step> steps;
};

namespace {

void check_range(uint64_t offset, uint64_t size, uint64_t buffer_size, const char* what) {
  if (offset > buffer_size || size > buffer_size - offset) {
#if HXRT_FAULT == FAULT_WRONG_STATUS
    fail(HXRT_STATUS_INTERNAL, std::string(what) + ": bad range");
#else
    fail(HXRT_STATUS_OUT_OF_RANGE, std::string(what) + ": " + std::to_string(size) + " bytes at offset " +
                                       std::to_string(offset) + " lie outside the buffer of " +
                                       std::to_string(buffer_size) + " bytes");
#endif
  }
}

// The bytes a copy really moves.
uint64_t copied_size(uint64_t offset, uint64_t size) {
#if HXRT_FAULT == FAULT_UNALIGNED_COPY
  if (size > 0 && ((offset | size) & 3) != 0) return size - 1;
#else
  (void)offset;
#endif
  return size;
}

template <typename T>
void write_out(T* dst, const T& ours) {
  size_t caller = dst->struct_size;
#if HXRT_FAULT == FAULT_IGNORES_STRUCT_SIZE
  size_t n = sizeof(T);
#else
  size_t n = std::min(caller, sizeof(T));
#endif
  if (n > sizeof(size_t))
    std::memcpy(reinterpret_cast<char*>(dst) + sizeof(size_t), reinterpret_cast<const char*>(&ours) + sizeof(size_t),
                n - sizeof(size_t));
  dst->struct_size = caller;
}

#if HXRT_FAULT == FAULT_NOT_THREAD_SAFE
uint8_t g_staging[1 << 16];  // shared by every stream, unguarded
#endif

hxrt_plugin_status* context_create(hxrt_context_create_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_context_create_args, context);
    auto ctx = std::make_unique<hxrt_plugin_context>();
    for (size_t i = 0; i < args->num_options; ++i)
      if (args->logger) args->logger(args->logger_user_data, HXRT_LOG_WARNING,
                                     (std::string("faulty plugin: ignoring unknown option '") + args->option_keys[i] + "'").c_str());
    args->context = ctx.release();
  });
}

void context_destroy(hxrt_plugin_context* c) { delete c; }

hxrt_plugin_status* context_get_devices(hxrt_context_get_devices_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_context_get_devices_args, devices);
    hxrt::plugin::require_non_null(args->context, "context");
    args->num_devices = 1;
    args->devices = args->context->list;
  });
}

hxrt_plugin_status* device_get_properties(hxrt_device_get_properties_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_device_get_properties_args, properties);
    hxrt::plugin::require_non_null(args->device, "device");
    hxrt::plugin::require_non_null(args->properties, "properties");
    hxrt_device_properties p{};
    p.name = "faulty-cpu";
    p.vendor = "hxrt conformance";
    p.kind = HXRT_DEVICE_KIND_CPU;
    p.memory_bytes = kMemoryBytes;
    p.host_addressable = 1;
    p.driver_version = "";
    p.compute_units = 1;
    write_out(args->properties, p);
  });
}

hxrt_plugin_status* device_get_transfer_costs(hxrt_device_get_transfer_costs_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_device_get_transfer_costs_args, costs);
    hxrt::plugin::require_non_null(args->device, "device");
    hxrt::plugin::require_non_null(args->costs, "costs");
    hxrt_link_cost link{1000.0, 5e9};
    hxrt_transfer_costs c{};
    c.host_to_device_pageable = c.host_to_device_pinned = c.device_to_host_pageable = c.device_to_host_pinned =
        c.device_to_device = link;
    write_out(args->costs, c);
  });
}

hxrt_plugin_status* buffer_allocate(hxrt_buffer_allocate_args* args) {
#if HXRT_FAULT == FAULT_NULL_CRASH
  volatile size_t size_field = args->struct_size;  // no NULL check: crashes on NULL
  (void)size_field;
#endif
  return guarded([&] {
    REQUIRE(args, hxrt_buffer_allocate_args, buffer);
    hxrt::plugin::require_non_null(args->device, "device");
    if (args->memory_kind != HXRT_MEMORY_DEVICE && args->memory_kind != HXRT_MEMORY_HOST_PINNED)
      fail(HXRT_STATUS_INVALID_ARGUMENT, "unknown memory kind " + std::to_string(args->memory_kind));
    uint64_t size = args->size_bytes;
    hxrt_device* d = args->device;
    uint64_t used = d->used.load();
    do {
      if (size > kMemoryBytes - used)
        fail(HXRT_STATUS_RESOURCE_EXHAUSTED, "cannot allocate " + std::to_string(size) + " bytes: " +
                                                 std::to_string(kMemoryBytes - used) + " free");
    } while (!d->used.compare_exchange_weak(used, used + size));
    auto b = std::make_unique<hxrt_buffer>();
    b->device = d;
    b->size = size;
    b->data = static_cast<uint8_t*>(std::aligned_alloc(kAlignment, std::max<size_t>(kAlignment, (size + kAlignment - 1) / kAlignment * kAlignment)));
    if (b->data == nullptr) {
      d->used -= size;
      fail(HXRT_STATUS_RESOURCE_EXHAUSTED, "out of host memory");
    }
    args->buffer = b.release();
  });
}

void buffer_destroy(hxrt_buffer* b) {
  if (b == nullptr) return;
#if HXRT_FAULT == FAULT_LEAK
  return;  // neither the memory nor the accounting comes back
#endif
  b->device->used -= b->size;
  std::free(b->data);
  delete b;
}

hxrt_plugin_status* buffer_get_host_pointer(hxrt_buffer_get_host_pointer_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_buffer_get_host_pointer_args, host_pointer);
    hxrt::plugin::require_non_null(args->buffer, "buffer");
    args->host_pointer = args->buffer->data;
  });
}

hxrt_plugin_status* stream_create(hxrt_stream_create_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_stream_create_args, stream);
    hxrt::plugin::require_non_null(args->device, "device");
    args->stream = new hxrt_stream();
  });
}

void stream_destroy(hxrt_stream* s) { delete s; }

hxrt_plugin_status* error_status(const std::optional<PluginError>& e) {
  return e ? hxrt::plugin::make_status(e->code(), e->what()) : nullptr;
}

hxrt_plugin_status* stream_synchronize(hxrt_stream* s) {
  hxrt_plugin_status* result = nullptr;
  hxrt_plugin_status* f = guarded([&] {
    hxrt::plugin::require_non_null(s, "stream");
    result = error_status(s->queue.synchronize());
  });
  return f ? f : result;
}

hxrt_plugin_status* stream_wait_event(hxrt_stream_wait_event_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_stream_wait_event_args, event);
    hxrt::plugin::require_non_null(args->stream, "stream");
    hxrt::plugin::require_non_null(args->event, "event");
    args->stream->queue.wait_for(args->event->event);
  });
}

hxrt_plugin_status* event_create(hxrt_event_create_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_event_create_args, event);
    hxrt::plugin::require_non_null(args->device, "device");
    args->event = new hxrt_event();
  });
}

void event_destroy(hxrt_event* e) { delete e; }

hxrt_plugin_status* event_record(hxrt_event_record_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_event_record_args, stream);
    hxrt::plugin::require_non_null(args->event, "event");
    hxrt::plugin::require_non_null(args->stream, "stream");
#if HXRT_FAULT == FAULT_EARLY_EVENT
    args->event->event.set_current(std::make_shared<hxrt::plugin::EventState>());
    args->event->event.current()->complete(std::nullopt);  // signalled before the work is done
#else
    args->stream->queue.record(args->event->event);
#endif
  });
}

hxrt_plugin_status* event_synchronize(hxrt_event* e) {
  hxrt_plugin_status* result = nullptr;
  hxrt_plugin_status* f = guarded([&] {
    hxrt::plugin::require_non_null(e, "event");
    result = error_status(e->event.current()->wait());
  });
  return f ? f : result;
}

hxrt_plugin_status* event_query(hxrt_event_query_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_event_query_args, completed);
    hxrt::plugin::require_non_null(args->event, "event");
    args->completed = args->event->event.current()->is_complete() ? 1 : 0;
  });
}

hxrt_plugin_status* copy_to_device(hxrt_copy_to_device_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_copy_to_device_args, size_bytes);
    hxrt::plugin::require_non_null(args->stream, "stream");
    hxrt::plugin::require_non_null(args->dst, "dst");
    if (args->size_bytes > 0) hxrt::plugin::require_non_null(args->src, "src");
    check_range(args->dst_offset, args->size_bytes, args->dst->size, "copy_to_device dst");
    uint64_t offset = args->dst_offset;
#if HXRT_FAULT == FAULT_COPY_OFFSET
    if (offset > 0 && offset + args->size_bytes < args->dst->size) offset += 1;  // off by one
#endif
    uint8_t* dst = args->dst->data + offset;
    const void* src = args->src;
    size_t n = copied_size(args->dst_offset, args->size_bytes);
    if (n > 0) args->stream->queue.enqueue([dst, src, n] { std::memcpy(dst, src, n); });
  });
}

hxrt_plugin_status* copy_to_host(hxrt_copy_to_host_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_copy_to_host_args, size_bytes);
    hxrt::plugin::require_non_null(args->stream, "stream");
    hxrt::plugin::require_non_null(args->src, "src");
    if (args->size_bytes > 0) hxrt::plugin::require_non_null(args->dst, "dst");
    check_range(args->src_offset, args->size_bytes, args->src->size, "copy_to_host src");
    const uint8_t* src = args->src->data + args->src_offset;
    uint8_t* dst = static_cast<uint8_t*>(args->dst);
    size_t n = copied_size(args->src_offset, args->size_bytes);
    if (n == 0) return;
#if HXRT_FAULT == FAULT_NOT_THREAD_SAFE
    args->stream->queue.enqueue([dst, src, n] {
      for (size_t done = 0; done < n; done += sizeof(g_staging)) {
        size_t chunk = std::min(n - done, sizeof(g_staging));
        std::memcpy(g_staging, src + done, chunk);
        std::this_thread::yield();  // widens the race between streams
        std::memcpy(dst + done, g_staging, chunk);
      }
    });
#else
    args->stream->queue.enqueue([dst, src, n] { std::memcpy(dst, src, n); });
#endif
  });
}

hxrt_plugin_status* copy_on_device(hxrt_copy_on_device_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_copy_on_device_args, size_bytes);
    hxrt::plugin::require_non_null(args->stream, "stream");
    hxrt::plugin::require_non_null(args->src, "src");
    hxrt::plugin::require_non_null(args->dst, "dst");
    check_range(args->src_offset, args->size_bytes, args->src->size, "copy_on_device src");
    check_range(args->dst_offset, args->size_bytes, args->dst->size, "copy_on_device dst");
    const uint8_t* src = args->src->data + args->src_offset;
    uint8_t* dst = args->dst->data + args->dst_offset;
    size_t n = copied_size(args->src_offset | args->dst_offset, args->size_bytes);
    if (n > 0) args->stream->queue.enqueue([dst, src, n] { std::memmove(dst, src, n); });
  });
}

void check_node(const hxrt_node_desc* node) {
  hxrt::plugin::require_non_null(node, "node");
  check_size(node->struct_size, V1_SIZE(hxrt_node_desc, outputs), "hxrt_node_desc");
  hxrt::plugin::require_non_null(node->op_type, "op_type");
  if (node->num_inputs > 0) hxrt::plugin::require_non_null(node->inputs, "inputs");
  if (node->num_outputs > 0) hxrt::plugin::require_non_null(node->outputs, "outputs");
  if (node->num_attributes > 0) hxrt::plugin::require_non_null(node->attributes, "attributes");
}

hxrt_plugin_status* query_op_support(hxrt_query_op_support_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_query_op_support_args, reason_message_capacity);
    hxrt::plugin::require_non_null(args->device, "device");
    check_node(args->node);
    Plan plan;
    hxrt_support_reason reason;
    std::string why = plan_node(*args->node, plan, reason);
    args->supported = why.empty() ? 1 : 0;
    args->reason = reason;
    args->estimated_ns = why.empty() ? plan.estimated_ns : 0.0;
    hxrt::plugin::copy_to_buffer(why, args->reason_message, args->reason_message_capacity);
  });
}

hxrt_plugin_status* executable_compile(hxrt_executable_compile_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_executable_compile_args, executable);
    hxrt::plugin::require_non_null(args->device, "device");
    const hxrt_graph_desc* g = args->graph;
    hxrt::plugin::require_non_null(g, "graph");
    check_size(g->struct_size, V1_SIZE(hxrt_graph_desc, output_values), "hxrt_graph_desc");
    auto exe = std::make_unique<hxrt_executable>();
    exe->num_values = g->num_values;
    auto valid = [&](int64_t v) {
      if (v < 0 || static_cast<uint64_t>(v) >= g->num_values)
        fail(HXRT_STATUS_INVALID_ARGUMENT, "value " + std::to_string(v) + " is outside the graph");
      return v;
    };
    for (size_t v = 0; v < g->num_values; ++v) {
      const hxrt_tensor_desc& t = *g->values[v];
      size_t bytes = static_cast<size_t>(hxrt::plugin::element_count(hxrt::plugin::shape_of(t))) * 4;
      exe->bytes.push_back(bytes);
      exe->constants.push_back(t.constant_data ? std::make_shared<std::vector<uint8_t>>(
                                                     static_cast<const uint8_t*>(t.constant_data),
                                                     static_cast<const uint8_t*>(t.constant_data) + bytes)
                                               : nullptr);
    }
    for (size_t i = 0; i < g->num_inputs; ++i) exe->inputs.push_back(valid(g->input_values[i]));
    for (size_t i = 0; i < g->num_outputs; ++i) exe->outputs.push_back(valid(g->output_values[i]));
    for (size_t n = 0; n < g->num_nodes; ++n) {
      const hxrt_graph_node& gn = *g->nodes[n];
      check_node(gn.node);
      Step step;
      hxrt_support_reason reason;
      std::string why = plan_node(*gn.node, step.plan, reason);
      if (!why.empty() || step.plan.op == Op::kSigmoid)
        fail(HXRT_STATUS_UNIMPLEMENTED, std::string("node ") + gn.node->op_type + " cannot run: " +
                                            (why.empty() ? "no Sigmoid kernel" : why));
      for (size_t i = 0; i < gn.node->num_inputs; ++i) step.in.push_back(valid(gn.input_values[i]));
      step.out.push_back(valid(gn.output_values[0]));
      exe->steps.push_back(std::move(step));
    }
    args->executable = exe.release();
  });
}

void executable_destroy(hxrt_executable* e) { delete e; }

hxrt_plugin_status* executable_execute(hxrt_executable_execute_args* args) {
  return guarded([&] {
    REQUIRE(args, hxrt_executable_execute_args, output_offsets);
    hxrt::plugin::require_non_null(args->executable, "executable");
    hxrt::plugin::require_non_null(args->stream, "stream");
    const hxrt_executable* exe = args->executable;
    if (args->num_inputs != exe->inputs.size() || args->num_outputs != exe->outputs.size())
      fail(HXRT_STATUS_INVALID_ARGUMENT, "wrong number of inputs or outputs");
    std::vector<uint8_t*> ptr(exe->num_values, nullptr);
    auto bind = [&](hxrt_buffer* b, uint64_t offset, int64_t v, const char* what) {
      hxrt::plugin::require_non_null(b, what);
      check_range(offset, exe->bytes[static_cast<size_t>(v)], b->size, what);
      ptr[static_cast<size_t>(v)] = b->data + offset;
    };
    for (size_t i = 0; i < args->num_inputs; ++i)
      bind(args->input_buffers[i], args->input_offsets ? args->input_offsets[i] : 0, exe->inputs[i], "input buffer");
    for (size_t i = 0; i < args->num_outputs; ++i)
      bind(args->output_buffers[i], args->output_offsets ? args->output_offsets[i] : 0, exe->outputs[i], "output buffer");
    args->stream->queue.enqueue([exe, ptr]() mutable {
      std::vector<std::vector<float>> scratch(exe->num_values);
      for (size_t v = 0; v < exe->num_values; ++v) {
        if (ptr[v] == nullptr && exe->constants[v]) ptr[v] = exe->constants[v]->data();
        if (ptr[v] == nullptr) {
          scratch[v].resize(exe->bytes[v] / 4 + 1);
          ptr[v] = reinterpret_cast<uint8_t*>(scratch[v].data());
        }
      }
      for (const Step& s : exe->steps)
        run_op(s.plan, reinterpret_cast<const float*>(ptr[static_cast<size_t>(s.in[0])]),
               s.in.size() > 1 ? reinterpret_cast<const float*>(ptr[static_cast<size_t>(s.in[1])]) : nullptr,
               reinterpret_cast<float*>(ptr[static_cast<size_t>(s.out[0])]));
    });
  });
}

const char* const kBuildKeys[] = {"fault"};
const char* const kBuildValues[] = {HXRT_FAULT_NAME};

const hxrt_plugin_identity kIdentity = {sizeof(hxrt_plugin_identity), HXRT_FAULT_NAME, "0.1.0",
                                        HXRT_ABI_VERSION_MAJOR,       HXRT_ABI_VERSION_MINOR,
                                        1,                            kBuildKeys,
                                        kBuildValues};

hxrt_plugin_api make_api() {
  hxrt_plugin_api a{};
  a.struct_size = sizeof(a);
  a.abi_major = HXRT_ABI_VERSION_MAJOR;
  a.abi_minor = HXRT_ABI_VERSION_MINOR;
  a.identity = &kIdentity;
  a.status_get_code = hxrt::plugin::status_get_code;
  a.status_get_message = hxrt::plugin::status_get_message;
  a.status_destroy = hxrt::plugin::status_destroy;
  a.context_create = context_create;
  a.context_destroy = context_destroy;
  a.context_get_devices = context_get_devices;
  a.device_get_properties = device_get_properties;
  a.device_get_transfer_costs = device_get_transfer_costs;
  a.buffer_allocate = buffer_allocate;
  a.buffer_destroy = buffer_destroy;
  a.buffer_get_host_pointer = buffer_get_host_pointer;
  a.stream_create = stream_create;
  a.stream_destroy = stream_destroy;
  a.stream_synchronize = stream_synchronize;
  a.stream_wait_event = stream_wait_event;
  a.event_create = event_create;
  a.event_destroy = event_destroy;
  a.event_record = event_record;
  a.event_synchronize = event_synchronize;
  a.event_query = event_query;
  a.copy_to_device = copy_to_device;
  a.copy_to_host = copy_to_host;
  a.copy_on_device = copy_on_device;
  a.query_op_support = query_op_support;
  a.executable_compile = executable_compile;
  a.executable_destroy = executable_destroy;
  a.executable_execute = executable_execute;
  return a;
}

const hxrt_plugin_api kApi = make_api();

}  // namespace

extern "C" HXRT_PLUGIN_EXPORT hxrt_status_code hxrt_plugin_negotiate(hxrt_plugin_negotiate_args* args) {
  if (args == nullptr || args->struct_size < V1_SIZE(hxrt_plugin_negotiate_args, message_capacity))
    return HXRT_STATUS_INVALID_ARGUMENT;
  args->plugin_abi_major = HXRT_ABI_VERSION_MAJOR;
  args->plugin_abi_minor = HXRT_ABI_VERSION_MINOR;
  bool same_major = args->host_abi_major == HXRT_ABI_VERSION_MAJOR;
#if HXRT_FAULT == FAULT_WRONG_VERSION
  same_major = true;  // answers OK to any host
#endif
  if (!same_major) {
    args->api = nullptr;
    if (args->message != nullptr && args->message_capacity > 0)
      std::snprintf(args->message, args->message_capacity,
                    "plugin " HXRT_FAULT_NAME " speaks hxrt plugin ABI %u.%u, the host speaks %u.%u: major versions differ",
                    HXRT_ABI_VERSION_MAJOR, HXRT_ABI_VERSION_MINOR, args->host_abi_major, args->host_abi_minor);
    return HXRT_STATUS_VERSION_MISMATCH;
  }
  if (args->message != nullptr && args->message_capacity > 0) args->message[0] = '\0';
  args->api = &kApi;
  return HXRT_STATUS_OK;
}
