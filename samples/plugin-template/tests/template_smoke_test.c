/* Smoke test for the plugin template, through the ABI only, as the host uses it.
 *
 *   template_smoke_test path/to/libhxrt_template.so
 *
 * Loads the module with dlopen, negotiates, and checks: version negotiation,
 * the mandatory slots, identity, the device, argument checking, bounds-checked
 * copies, op-support answers, events, and two small graphs (Add -> Relu, and
 * MatMul with a constant weight -> Softmax) against values computed here.
 * Prints every check; exits 0 when all pass. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hxrt/plugin_abi.h"

static int g_failures = 0;
static int g_checks = 0;

/* Evaluates `cond` once (it usually calls into the plugin). */
#define CHECK(cond, ...)                                                          \
  do {                                                                            \
    int passed_ = (cond) ? 1 : 0;                                                 \
    ++g_checks;                                                                   \
    printf("%s: ", passed_ ? "  ok  " : "FAILED");                                \
    printf(__VA_ARGS__);                                                          \
    printf("\n");                                                                 \
    if (!passed_) {                                                               \
      ++g_failures;                                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
    }                                                                             \
  } while (0)

static const hxrt_plugin_api* api;

/* Returns the status code and destroys the status (R3.2: the caller owns it). */
static hxrt_status_code code_of(hxrt_plugin_status* status) {
  hxrt_status_code code = api->status_get_code(status);
  if (status != NULL) {
    printf("        (status %d: %s)\n", (int)code, api->status_get_message(status));
    api->status_destroy(status);
  }
  return code;
}

static void logger(void* user_data, hxrt_log_level level, const char* message) {
  (void)user_data;
  printf("        [plugin log %d] %s\n", (int)level, message);
}

/* ---- Descriptor builders: a tiny stand-in for the host's graph lowering ---- */

typedef struct tensor {
  hxrt_tensor_desc desc;
  int64_t dims[4];
} tensor;

static void make_tensor(tensor* t, hxrt_dtype dtype, size_t rank, const int64_t* dims, const void* constant) {
  memset(t, 0, sizeof *t);
  memcpy(t->dims, dims, rank * sizeof *dims);
  t->desc.struct_size = sizeof t->desc;
  t->desc.dtype = dtype;
  t->desc.rank = rank;
  t->desc.dims = t->dims;
  if (constant != NULL) {
    size_t n = 1;
    for (size_t d = 0; d < rank; ++d) n *= (size_t)dims[d];
    t->desc.constant_data = constant;
    t->desc.constant_size_bytes = n * sizeof(float);
  }
}

typedef struct node {
  hxrt_node_desc desc;
  const hxrt_tensor_desc* inputs[2];
  const hxrt_tensor_desc* outputs[1];
  hxrt_graph_node graph_node;
  int64_t input_values[2];
  int64_t output_values[1];
} node;

/* A node whose inputs/outputs are values of `values` (indices). */
static void make_node(node* n, const char* op_type, tensor* values, size_t num_inputs, const int64_t* in, int64_t out) {
  memset(n, 0, sizeof *n);
  n->desc.struct_size = sizeof n->desc;
  n->desc.name = op_type;
  n->desc.domain = "";
  n->desc.op_type = op_type;
  n->desc.opset_version = 17;
  n->desc.num_inputs = num_inputs;
  n->desc.inputs = n->inputs;
  n->desc.num_outputs = 1;
  n->desc.outputs = n->outputs;
  for (size_t i = 0; i < num_inputs; ++i) {
    n->inputs[i] = &values[in[i]].desc;
    n->input_values[i] = in[i];
  }
  n->outputs[0] = &values[out].desc;
  n->output_values[0] = out;
  n->graph_node.struct_size = sizeof n->graph_node;
  n->graph_node.node = &n->desc;
  n->graph_node.input_values = n->input_values;
  n->graph_node.output_values = n->output_values;
}

static int query(hxrt_device* device, const hxrt_node_desc* desc, hxrt_support_reason* reason, double* ns) {
  char message[256] = "";
  hxrt_query_op_support_args q;
  memset(&q, 0, sizeof q);
  q.struct_size = sizeof q;
  q.device = device;
  q.node = desc;
  q.reason_message = message;
  q.reason_message_capacity = sizeof message;
  if (code_of(api->query_op_support(&q)) != HXRT_STATUS_OK) return -1;
  printf("        query %s: supported=%d reason=%d estimated_ns=%.0f \"%s\"\n", desc->op_type, (int)q.supported,
         (int)q.reason, q.estimated_ns, message);
  *reason = q.reason;
  *ns = q.estimated_ns;
  return q.supported;
}

static hxrt_buffer* alloc_buffer(hxrt_device* device, uint64_t bytes) {
  hxrt_buffer_allocate_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.device = device;
  a.size_bytes = bytes;
  a.memory_kind = HXRT_MEMORY_DEVICE;
  return code_of(api->buffer_allocate(&a)) == HXRT_STATUS_OK ? a.buffer : NULL;
}

static hxrt_status_code upload(hxrt_stream* s, hxrt_buffer* dst, const void* src, uint64_t offset, uint64_t n) {
  hxrt_copy_to_device_args c;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.stream = s;
  c.src = src;
  c.dst = dst;
  c.dst_offset = offset;
  c.size_bytes = n;
  return code_of(api->copy_to_device(&c));
}

static hxrt_status_code download(hxrt_stream* s, hxrt_buffer* src, void* dst, uint64_t n) {
  hxrt_copy_to_host_args c;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.stream = s;
  c.src = src;
  c.dst = dst;
  c.size_bytes = n;
  return code_of(api->copy_to_host(&c));
}

static hxrt_executable* compile(hxrt_device* device, tensor* values, size_t num_values, node* nodes, size_t num_nodes,
                                const int64_t* inputs, size_t num_inputs, const int64_t* outputs, size_t num_outputs) {
  const hxrt_tensor_desc* value_ptrs[8];
  const hxrt_graph_node* node_ptrs[8];
  for (size_t i = 0; i < num_values; ++i) value_ptrs[i] = &values[i].desc;
  for (size_t i = 0; i < num_nodes; ++i) node_ptrs[i] = &nodes[i].graph_node;
  hxrt_graph_desc g;
  memset(&g, 0, sizeof g);
  g.struct_size = sizeof g;
  g.num_values = num_values;
  g.values = value_ptrs;
  g.num_nodes = num_nodes;
  g.nodes = node_ptrs;
  g.num_inputs = num_inputs;
  g.input_values = inputs;
  g.num_outputs = num_outputs;
  g.output_values = outputs;
  hxrt_executable_compile_args c;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.device = device;
  c.graph = &g;
  return code_of(api->executable_compile(&c)) == HXRT_STATUS_OK ? c.executable : NULL;
}

static hxrt_status_code execute(hxrt_executable* exe, hxrt_stream* s, hxrt_buffer* const* in, size_t nin,
                                hxrt_buffer* const* out, size_t nout) {
  hxrt_executable_execute_args e;
  memset(&e, 0, sizeof e);
  e.struct_size = sizeof e;
  e.executable = exe;
  e.stream = s;
  e.num_inputs = nin;
  e.input_buffers = in;
  e.num_outputs = nout;
  e.output_buffers = out;
  return code_of(api->executable_execute(&e));
}

static int close_to(const float* got, const float* want, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (fabsf(got[i] - want[i]) > 1e-5f * (1.0f + fabsf(want[i]))) return 0;
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s path/to/libhxrt_template.so\n", argv[0]);
    return 2;
  }
  void* module = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (module == NULL) {
    fprintf(stderr, "dlopen failed: %s\n", dlerror());
    return 1;
  }
  void* symbol = dlsym(module, HXRT_PLUGIN_ENTRY_SYMBOL);
  CHECK(symbol != NULL, "R1.1: the module exports %s", HXRT_PLUGIN_ENTRY_SYMBOL);
  if (symbol == NULL) return 1;
  hxrt_plugin_negotiate_fn negotiate;
  memcpy(&negotiate, &symbol, sizeof negotiate); /* object -> function pointer, the POSIX way */

  /* ---- R1: negotiation ---- */
  char message[256];
  hxrt_plugin_negotiate_args n;
  memset(&n, 0, sizeof n);
  n.struct_size = sizeof n;
  n.host_abi_major = 2;
  n.host_abi_minor = 0;
  n.message = message;
  n.message_capacity = sizeof message;
  CHECK(negotiate(&n) == HXRT_STATUS_VERSION_MISMATCH && n.api == NULL, "R1: a host speaking 2.0 is refused");
  char own[32];
  snprintf(own, sizeof own, "%u.%u", HXRT_ABI_VERSION_MAJOR, HXRT_ABI_VERSION_MINOR);
  CHECK(strstr(message, "2.0") != NULL && strstr(message, own) != NULL, "R1: the refusal names both versions: %s",
        message);
  CHECK(negotiate(NULL) == HXRT_STATUS_INVALID_ARGUMENT, "R3.3: negotiate(NULL) is INVALID_ARGUMENT");
  n.struct_size = 4;
  CHECK(negotiate(&n) == HXRT_STATUS_INVALID_ARGUMENT, "R2.3: a too-small negotiate args struct is refused");
  n.struct_size = sizeof n;
  n.host_abi_major = 1;
  n.host_abi_minor = 7;
  CHECK(negotiate(&n) == HXRT_STATUS_OK && n.api != NULL, "R1: a newer host minor (1.7) is accepted");
  n.host_abi_minor = 0;
  CHECK(negotiate(&n) == HXRT_STATUS_OK && n.api != NULL && n.plugin_abi_major == 1, "R1: host 1.0 gets plugin %u.%u",
        n.plugin_abi_major, n.plugin_abi_minor);
  if (n.api == NULL) return 1;
  api = n.api;

  /* ---- R2.5: mandatory slots; R9: identity ---- */
  CHECK(api->struct_size >= offsetof(hxrt_plugin_api, executable_execute) + sizeof api->executable_execute,
        "R2.5: the table covers ABI 1.0 (%zu bytes)", api->struct_size);
  CHECK(api->identity && api->status_get_code && api->status_get_message && api->status_destroy &&
            api->context_create && api->context_destroy && api->context_get_devices && api->device_get_properties &&
            api->buffer_allocate && api->buffer_destroy && api->stream_create && api->stream_destroy &&
            api->stream_synchronize && api->stream_wait_event && api->event_create && api->event_destroy &&
            api->event_record && api->event_synchronize && api->copy_to_device && api->copy_to_host &&
            api->query_op_support && api->executable_compile && api->executable_destroy && api->executable_execute,
        "R2.5: every mandatory slot is set");
  CHECK(strcmp(api->identity->name, "template") == 0 && api->identity->abi_major == 1,
        "R9: identity %s %s, ABI %u.%u, %zu build properties", api->identity->name, api->identity->version,
        api->identity->abi_major, api->identity->abi_minor, api->identity->num_build_properties);
  CHECK(api->status_get_code(NULL) == HXRT_STATUS_OK && strcmp(api->status_get_message(NULL), "") == 0,
        "R3.2: the NULL status reads as OK with an empty message");

  /* ---- R3.3: argument checking ---- */
  CHECK(code_of(api->context_create(NULL)) == HXRT_STATUS_INVALID_ARGUMENT, "R3.3: context_create(NULL)");
  hxrt_context_create_args cc;
  memset(&cc, 0, sizeof cc);
  CHECK(code_of(api->context_create(&cc)) == HXRT_STATUS_INVALID_ARGUMENT, "R2.3: context_create with struct_size 0");
  CHECK(code_of(api->stream_synchronize(NULL)) == HXRT_STATUS_INVALID_ARGUMENT, "R3.3: stream_synchronize(NULL)");
  api->buffer_destroy(NULL); /* R3.1: destroying NULL is a no-op */

  /* ---- R4: context and device ---- */
  const char* keys[] = {"memory_bytes", "no_such_option"};
  const char* values[] = {"1048576", "x"};
  cc.struct_size = sizeof cc;
  cc.logger = logger;
  cc.num_options = 2;
  cc.option_keys = keys;
  cc.option_values = values;
  CHECK(code_of(api->context_create(&cc)) == HXRT_STATUS_OK && cc.context, "R8.2: context with options created");
  hxrt_context_get_devices_args gd;
  memset(&gd, 0, sizeof gd);
  gd.struct_size = sizeof gd;
  gd.context = cc.context;
  CHECK(code_of(api->context_get_devices(&gd)) == HXRT_STATUS_OK && gd.num_devices == 1, "R4.1: one device");
  hxrt_device* dev = gd.devices[0];
  hxrt_device_properties props;
  memset(&props, 0, sizeof props);
  props.struct_size = sizeof props;
  hxrt_device_get_properties_args gp = {sizeof gp, dev, &props};
  CHECK(code_of(api->device_get_properties(&gp)) == HXRT_STATUS_OK && strcmp(props.name, "template-cpu") == 0 &&
            props.kind == HXRT_DEVICE_KIND_CPU && props.host_addressable && props.memory_bytes == 1048576,
        "R4.2: device %s, kind CPU, host-addressable, %llu bytes", props.name,
        (unsigned long long)props.memory_bytes);
  hxrt_buffer_allocate_args big;
  memset(&big, 0, sizeof big);
  big.struct_size = sizeof big;
  big.device = dev;
  big.size_bytes = 2u << 20;
  CHECK(code_of(api->buffer_allocate(&big)) == HXRT_STATUS_RESOURCE_EXHAUSTED && big.buffer == NULL,
        "R4.3: allocating past capacity is RESOURCE_EXHAUSTED");
  hxrt_buffer* empty = alloc_buffer(dev, 0);
  CHECK(empty != NULL, "R4.3: a 0-byte buffer is valid");
  hxrt_buffer_get_host_pointer_args hp = {sizeof hp, empty, NULL};
  CHECK(code_of(api->buffer_get_host_pointer(&hp)) == HXRT_STATUS_OK, "R4.5: buffer_get_host_pointer answers");
  api->buffer_destroy(empty);

  hxrt_stream_create_args sc = {sizeof sc, dev, NULL};
  CHECK(code_of(api->stream_create(&sc)) == HXRT_STATUS_OK && sc.stream, "R7: stream created");
  hxrt_stream* s = sc.stream;

  /* ---- R7: copies, bounds, events ---- */
  hxrt_buffer* small = alloc_buffer(dev, 16);
  float four[4] = {1, 2, 3, 4}, back[4] = {0};
  CHECK(upload(s, small, four, 8, 16) == HXRT_STATUS_OUT_OF_RANGE, "R7: a copy past the buffer end is OUT_OF_RANGE");
  CHECK(upload(s, small, four, 0, 16) == HXRT_STATUS_OK && download(s, small, back, 16) == HXRT_STATUS_OK &&
            code_of(api->stream_synchronize(s)) == HXRT_STATUS_OK && memcmp(four, back, 16) == 0,
        "R7: round trip host -> device -> host");
  api->buffer_destroy(small);
  hxrt_event_create_args ec = {sizeof ec, dev, NULL};
  CHECK(code_of(api->event_create(&ec)) == HXRT_STATUS_OK, "R7: event created");
  hxrt_event_query_args eq = {sizeof eq, ec.event, 0};
  CHECK(code_of(api->event_query(&eq)) == HXRT_STATUS_OK && eq.completed, "R7: a never-recorded event is complete");
  hxrt_event_record_args er = {sizeof er, ec.event, s};
  CHECK(code_of(api->event_record(&er)) == HXRT_STATUS_OK &&
            code_of(api->event_synchronize(ec.event)) == HXRT_STATUS_OK,
        "R7: record + synchronize");

  /* ---- R5: capability queries ---- */
  const int64_t d23[] = {2, 3}, d32[] = {3, 2}, d22[] = {2, 2}, d223[] = {2, 2, 3};
  tensor q[4];
  make_tensor(&q[0], HXRT_DTYPE_FLOAT32, 2, d23, NULL);
  make_tensor(&q[1], HXRT_DTYPE_INT64, 2, d23, NULL);
  make_tensor(&q[2], HXRT_DTYPE_FLOAT32, 3, d223, NULL);
  make_tensor(&q[3], HXRT_DTYPE_FLOAT32, 2, d22, NULL);
  node qn;
  hxrt_support_reason reason;
  double ns_small = 0, ns_big = 0;
  make_node(&qn, "Add", q, 2, (const int64_t[]){0, 0}, 0);
  CHECK(query(dev, &qn.desc, &reason, &ns_small) == 1 && ns_small > 0, "R5.3: Add float32 [2,3] is supported");
  make_node(&qn, "Add", q, 2, (const int64_t[]){1, 1}, 1);
  CHECK(query(dev, &qn.desc, &reason, &ns_big) == 0 && reason == HXRT_UNSUPPORTED_DTYPE, "R5.3: Add int64 -> DTYPE");
  make_node(&qn, "Conv", q, 2, (const int64_t[]){0, 0}, 0);
  CHECK(query(dev, &qn.desc, &reason, &ns_big) == 0 && reason == HXRT_UNSUPPORTED_OP, "R5.3: Conv -> OP");
  make_node(&qn, "MatMul", q, 2, (const int64_t[]){2, 2}, 2);
  CHECK(query(dev, &qn.desc, &reason, &ns_big) == 0 && reason == HXRT_UNSUPPORTED_SHAPE, "R5.3: 3-D MatMul -> SHAPE");
  make_node(&qn, "Add", q, 2, (const int64_t[]){2, 2}, 2);
  CHECK(query(dev, &qn.desc, &reason, &ns_big) == 1 && ns_big > ns_small, "R5.3: estimates grow with size");
  qn.desc.domain = "com.example";
  CHECK(query(dev, &qn.desc, &reason, &ns_big) == 0 && reason == HXRT_UNSUPPORTED_OP, "R5.2: foreign domain -> OP");

  /* ---- R6: Add -> Relu:  z = Relu(x + y) ---- */
  {
    tensor v[4];
    for (int i = 0; i < 4; ++i) make_tensor(&v[i], HXRT_DTYPE_FLOAT32, 2, d23, NULL);
    node nodes[2];
    make_node(&nodes[0], "Add", v, 2, (const int64_t[]){0, 1}, 2);
    make_node(&nodes[1], "Relu", v, 1, (const int64_t[]){2}, 3);
    hxrt_executable* exe = compile(dev, v, 4, nodes, 2, (const int64_t[]){0, 1}, 2, (const int64_t[]){3}, 1);
    CHECK(exe != NULL, "R6: compiled Add -> Relu");
    float x[6] = {1, -2, 3, -4, 5, -6}, y[6] = {0.5f, 1, -4, 2, -5, 7}, z[6], want[6];
    for (int i = 0; i < 6; ++i) want[i] = x[i] + y[i] > 0 ? x[i] + y[i] : 0;
    hxrt_buffer* bx = alloc_buffer(dev, 24);
    hxrt_buffer* by = alloc_buffer(dev, 24);
    hxrt_buffer* bz = alloc_buffer(dev, 24);
    hxrt_buffer* ins[2] = {bx, by};
    CHECK(execute(exe, s, ins, 1, &bz, 1) == HXRT_STATUS_INVALID_ARGUMENT, "R6: wrong input count is refused");
    upload(s, bx, x, 0, 24);
    upload(s, by, y, 0, 24);
    CHECK(execute(exe, s, ins, 2, &bz, 1) == HXRT_STATUS_OK && download(s, bz, z, 24) == HXRT_STATUS_OK &&
              code_of(api->stream_synchronize(s)) == HXRT_STATUS_OK,
          "R6: executed Add -> Relu");
    CHECK(close_to(z, want, 6), "R6: Relu(x + y) = [%g %g %g %g %g %g]", z[0], z[1], z[2], z[3], z[4], z[5]);
    api->buffer_destroy(bx);
    api->buffer_destroy(by);
    api->buffer_destroy(bz);
    api->executable_destroy(exe);
  }

  /* ---- R6: C = MatMul(A, W) with W a constant; S = Softmax(C); outputs C, S ---- */
  {
    float w[6] = {1, 0, 0, 1, 1, -1};
    tensor v[4];
    make_tensor(&v[0], HXRT_DTYPE_FLOAT32, 2, d23, NULL); /* A */
    make_tensor(&v[1], HXRT_DTYPE_FLOAT32, 2, d32, w);    /* W, constant */
    make_tensor(&v[2], HXRT_DTYPE_FLOAT32, 2, d22, NULL); /* C */
    make_tensor(&v[3], HXRT_DTYPE_FLOAT32, 2, d22, NULL); /* S */
    node nodes[2];
    make_node(&nodes[0], "MatMul", v, 2, (const int64_t[]){0, 1}, 2);
    make_node(&nodes[1], "Softmax", v, 1, (const int64_t[]){2}, 3);
    hxrt_executable* exe = compile(dev, v, 4, nodes, 2, (const int64_t[]){0}, 1, (const int64_t[]){2, 3}, 2);
    CHECK(exe != NULL, "R6: compiled MatMul(A, constant W) -> Softmax");
    w[0] = 100; /* R5.4: the plugin copied the constant; changing ours must not matter */
    float a[6] = {1, 2, 3, 4, 5, 6}, c[4], sm[4], want_c[4], want_s[4];
    const float w0[6] = {1, 0, 0, 1, 1, -1};
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) {
        want_c[i * 2 + j] = 0;
        for (int k = 0; k < 3; ++k) want_c[i * 2 + j] += a[i * 3 + k] * w0[k * 2 + j];
      }
    for (int i = 0; i < 2; ++i) {
      float e0 = expf(want_c[2 * i]), e1 = expf(want_c[2 * i + 1]);
      want_s[2 * i] = e0 / (e0 + e1);
      want_s[2 * i + 1] = e1 / (e0 + e1);
    }
    hxrt_buffer* ba = alloc_buffer(dev, 24);
    hxrt_buffer* bout = alloc_buffer(dev, 64); /* both outputs in one buffer, at offsets 0 and 32 */
    hxrt_buffer* outs[2] = {bout, bout};
    const uint64_t out_offsets[2] = {0, 32};
    upload(s, ba, a, 0, 24);
    hxrt_executable_execute_args e;
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    e.executable = exe;
    e.stream = s;
    e.num_inputs = 1;
    e.input_buffers = &ba;
    e.num_outputs = 2;
    e.output_buffers = outs;
    e.output_offsets = out_offsets;
    CHECK(code_of(api->executable_execute(&e)) == HXRT_STATUS_OK, "R6: executed MatMul -> Softmax");
    hxrt_copy_to_host_args ch = {sizeof ch, s, bout, 32, sm, 16};
    CHECK(download(s, bout, c, 16) == HXRT_STATUS_OK && code_of(api->copy_to_host(&ch)) == HXRT_STATUS_OK &&
              code_of(api->stream_synchronize(s)) == HXRT_STATUS_OK,
          "R7: results copied back");
    CHECK(close_to(c, want_c, 4), "R6: MatMul = [%g %g; %g %g]", c[0], c[1], c[2], c[3]);
    CHECK(close_to(sm, want_s, 4), "R6: Softmax = [%g %g; %g %g]", sm[0], sm[1], sm[2], sm[3]);
    api->buffer_destroy(ba);
    api->buffer_destroy(bout);
    api->executable_destroy(exe);
  }

  api->event_destroy(ec.event);
  api->stream_destroy(s);
  api->context_destroy(cc.context);
  dlclose(module);
  printf("template_smoke_test: %d checks, %d failed\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
