// Runs every single-node ONNX backend test under $HXRT_SHARED_DATA/onnx-node
// on the CPU kernels, read with a tiny protobuf decoder: the own (generic)
// kernels must pass them all (but documented gaps); the full registry
// (oneDNN first) is reported for information.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kernel.hpp"
#include "node_builder.hpp"
#include "own_common.hpp"
#include "own_kernel.hpp"

namespace hxrt::cpu {
namespace {

using test::NodeBuilder;
using test::own_kernel;

// ---------------------------------------------------------------------------
// A minimal protobuf decoder for ONNX models and tensors.
// ---------------------------------------------------------------------------

struct Pb {
  const uint8_t* p;
  const uint8_t* end;
  bool more() const { return p < end; }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; p < end && shift < 64; shift += 7) {
      uint8_t b = *p++;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) break;
    }
    return v;
  }
  // Reads a field key; returns false at the end.
  bool key(uint32_t& field, uint32_t& wire) {
    if (!more()) return false;
    uint64_t k = varint();
    field = static_cast<uint32_t>(k >> 3);
    wire = static_cast<uint32_t>(k & 7);
    return true;
  }
  Pb sub() {
    uint64_t n = varint();
    Pb s{p, p + n};
    p += n;
    return s;
  }
  std::string bytes() {
    Pb s = sub();
    return std::string(reinterpret_cast<const char*>(s.p), static_cast<size_t>(s.end - s.p));
  }
  void skip(uint32_t wire) {
    if (wire == 0) varint();
    else if (wire == 1) p += 8;
    else if (wire == 2) sub();
    else if (wire == 5) p += 4;
  }
  template <typename T>
  T fixed() {
    T v;
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    return v;
  }
};

// Repeated scalar fields, packed or not.
template <typename T, typename Read>
void read_repeated(Pb& pb, uint32_t wire, std::vector<T>& out, Read read) {
  if (wire == 2) {
    Pb s = pb.sub();
    while (s.more()) out.push_back(read(s));
  } else {
    out.push_back(read(pb));
  }
}

struct PTensor {
  int dtype = 0;
  Shape dims;
  std::vector<uint8_t> raw;
  std::string name;
};

PTensor parse_tensor(Pb pb) {
  PTensor t;
  std::vector<float> floats;
  std::vector<double> doubles;
  std::vector<int64_t> ints;  // int32_data / int64_data
  std::vector<uint64_t> uints;
  bool have_raw = false, int64_field = false;
  uint32_t f, w;
  while (pb.key(f, w)) {
    switch (f) {
      case 1: read_repeated(pb, w, t.dims, [](Pb& s) { return static_cast<int64_t>(s.varint()); }); break;
      case 2: t.dtype = static_cast<int>(pb.varint()); break;
      case 4: read_repeated(pb, w, floats, [](Pb& s) { return s.fixed<float>(); }); break;
      case 5: read_repeated(pb, w, ints, [](Pb& s) { return static_cast<int64_t>(static_cast<int32_t>(s.varint())); }); break;
      case 7: int64_field = true; read_repeated(pb, w, ints, [](Pb& s) { return static_cast<int64_t>(s.varint()); }); break;
      case 8: t.name = pb.bytes(); break;
      case 9: {
        std::string r = pb.bytes();
        t.raw.assign(r.begin(), r.end());
        have_raw = true;
        break;
      }
      case 10: read_repeated(pb, w, doubles, [](Pb& s) { return s.fixed<double>(); }); break;
      case 11: read_repeated(pb, w, uints, [](Pb& s) { return s.varint(); }); break;
      default: pb.skip(w);
    }
  }
  if (have_raw) return t;
  auto put = [&](const void* v, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(v);
    t.raw.insert(t.raw.end(), b, b + n);
  };
  const size_t es = plugin::dtype_size(static_cast<hxrt_dtype>(t.dtype));
  if (t.dtype == HXRT_DTYPE_FLOAT32) {
    for (float v : floats) put(&v, 4);
  } else if (t.dtype == HXRT_DTYPE_FLOAT64) {
    for (double v : doubles) put(&v, 8);
  } else if (t.dtype == HXRT_DTYPE_UINT32 || t.dtype == HXRT_DTYPE_UINT64) {
    for (uint64_t v : uints) put(&v, es);
  } else if (int64_field || t.dtype == HXRT_DTYPE_INT64) {
    for (int64_t v : ints) put(&v, 8);
  } else {
    for (int64_t v : ints) put(&v, es);  // little-endian truncation
  }
  return t;
}

struct PAttr {
  std::string name, s;
  int type = 0;
  float f = 0;
  int64_t i = 0;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::optional<PTensor> t;
};

struct PNode {
  std::vector<std::string> inputs, outputs;
  std::string op_type, domain;
  std::vector<PAttr> attrs;
};

struct PModel {
  int64_t opset = 0;
  std::vector<PNode> nodes;
  std::vector<std::string> inputs, outputs;
  std::map<std::string, PTensor> initializers;
};

PAttr parse_attr(Pb pb) {
  PAttr a;
  uint32_t f, w;
  while (pb.key(f, w)) {
    switch (f) {
      case 1: a.name = pb.bytes(); break;
      case 2: a.f = pb.fixed<float>(); break;
      case 3: a.i = static_cast<int64_t>(pb.varint()); break;
      case 4: a.s = pb.bytes(); break;
      case 5: a.t = parse_tensor(pb.sub()); break;
      case 7: read_repeated(pb, w, a.floats, [](Pb& s) { return s.fixed<float>(); }); break;
      case 8: read_repeated(pb, w, a.ints, [](Pb& s) { return static_cast<int64_t>(s.varint()); }); break;
      case 9: a.strings.push_back(pb.bytes()); break;
      case 20: a.type = static_cast<int>(pb.varint()); break;
      default: pb.skip(w);
    }
  }
  return a;
}

std::string value_info_name(Pb pb) {
  uint32_t f, w;
  std::string name;
  while (pb.key(f, w)) {
    if (f == 1) name = pb.bytes();
    else pb.skip(w);
  }
  return name;
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

PModel parse_model(const std::vector<uint8_t>& bytes) {
  PModel m;
  Pb pb{bytes.data(), bytes.data() + bytes.size()};
  uint32_t f, w;
  while (pb.key(f, w)) {
    if (f == 8) {
      Pb op = pb.sub();
      std::string domain;
      int64_t version = 0;
      uint32_t f2, w2;
      while (op.key(f2, w2)) {
        if (f2 == 1) domain = op.bytes();
        else if (f2 == 2) version = static_cast<int64_t>(op.varint());
        else op.skip(w2);
      }
      if (domain.empty() || domain == "ai.onnx") m.opset = version;
    } else if (f == 7) {
      Pb g = pb.sub();
      uint32_t f2, w2;
      while (g.key(f2, w2)) {
        if (f2 == 1) {
          Pb n = g.sub();
          PNode node;
          uint32_t f3, w3;
          while (n.key(f3, w3)) {
            if (f3 == 1) node.inputs.push_back(n.bytes());
            else if (f3 == 2) node.outputs.push_back(n.bytes());
            else if (f3 == 4) node.op_type = n.bytes();
            else if (f3 == 5) node.attrs.push_back(parse_attr(n.sub()));
            else if (f3 == 7) node.domain = n.bytes();
            else n.skip(w3);
          }
          m.nodes.push_back(std::move(node));
        } else if (f2 == 5) {
          PTensor t = parse_tensor(g.sub());
          m.initializers[t.name] = t;
        } else if (f2 == 11) {
          m.inputs.push_back(value_info_name(g.sub()));
        } else if (f2 == 12) {
          m.outputs.push_back(value_info_name(g.sub()));
        } else {
          g.skip(w2);
        }
      }
    } else {
      pb.skip(w);
    }
  }
  return m;
}

bool supported_dtype(int dtype) {
  return dtype != HXRT_DTYPE_STRING && plugin::dtype_size(static_cast<hxrt_dtype>(dtype)) != 0;
}

// A plain dense tensor whose bytes match its dims (not a sequence/optional/sparse value).
bool well_formed(const PTensor& t) {
  return supported_dtype(t.dtype) &&
         t.raw.size() == static_cast<size_t>(plugin::element_count(t.dims)) * plugin::dtype_size(static_cast<hxrt_dtype>(t.dtype));
}

// Compares two tensors of `dtype` with ONNX backend tolerances (rtol 1e-3, atol 1e-7 for floats).
std::string compare(int dtype, const std::vector<uint8_t>& got, const std::vector<uint8_t>& want) {
  if (got.size() != want.size()) return "size mismatch";
  const size_t es = plugin::dtype_size(static_cast<hxrt_dtype>(dtype));
  const size_t n = es ? got.size() / es : 0;
  const bool is_float = dtype == HXRT_DTYPE_FLOAT32 || dtype == HXRT_DTYPE_FLOAT64 || dtype == HXRT_DTYPE_FLOAT16 ||
                        dtype == HXRT_DTYPE_BFLOAT16;
  for (size_t i = 0; i < n; ++i) {
    if (!is_float) {
      if (std::memcmp(got.data() + i * es, want.data() + i * es, es) != 0) return "element " + std::to_string(i) + " differs";
      continue;
    }
    double g = own::load_as_double(got.data(), static_cast<hxrt_dtype>(dtype), static_cast<int64_t>(i));
    double e = own::load_as_double(want.data(), static_cast<hxrt_dtype>(dtype), static_cast<int64_t>(i));
    if (std::isnan(g) && std::isnan(e)) continue;
    if (std::isinf(e) && g == e) continue;
    if (!(std::fabs(g - e) <= 1e-7 + 1e-3 * std::fabs(e))) {
      std::ostringstream os;
      os << "element " << i << ": got " << g << ", want " << e;
      return os.str();
    }
  }
  return "";
}

// Runs one single-node test; returns "" on success, "SKIP: ..." or an error.
std::string run_node_test(const std::filesystem::path& dir, bool use_own) {
  PModel model = parse_model(read_file(dir / "model.onnx"));
  if (model.nodes.size() != 1) return "SKIP: not a single node";
  const PNode& pn = model.nodes[0];
  if (!pn.domain.empty() && pn.domain != "ai.onnx") return "SKIP: domain";
  std::map<std::string, PTensor> values = model.initializers;
  const auto data_dir = dir / "test_data_set_0";
  for (size_t k = 0; k < model.inputs.size(); ++k) {
    auto p = data_dir / ("input_" + std::to_string(k) + ".pb");
    if (!std::filesystem::exists(p)) continue;
    auto bytes = read_file(p);
    values[model.inputs[k]] = parse_tensor(Pb{bytes.data(), bytes.data() + bytes.size()});
  }
  std::map<std::string, PTensor> expected;
  for (size_t k = 0; k < model.outputs.size(); ++k) {
    auto bytes = read_file(data_dir / ("output_" + std::to_string(k) + ".pb"));
    expected[model.outputs[k]] = parse_tensor(Pb{bytes.data(), bytes.data() + bytes.size()});
  }
  NodeBuilder nb(pn.op_type, model.opset);
  std::vector<const void*> in_ptrs;
  for (size_t k = 0; k < pn.inputs.size(); ++k) {
    const std::string& name = pn.inputs[k];
    if (name.empty()) {
      nb.no_input();
      in_ptrs.push_back(nullptr);
      continue;
    }
    auto it = values.find(name);
    if (it == values.end()) return "SKIP: input " + name + " has no data";
    const PTensor& t = it->second;
    if (!well_formed(t)) return "SKIP: input dtype " + std::to_string(t.dtype) + " or non-tensor value";
    // Parameters (every input but the first) are compile-time constants, as after host folding.
    const char* runtime = std::getenv("HXRT_OWN_NODE_RUNTIME");  // debugging: no constants at all
    if (k == 0 || (runtime && *runtime))
      nb.input(static_cast<hxrt_dtype>(t.dtype), t.dims);
    else
      nb.input(static_cast<hxrt_dtype>(t.dtype), t.dims, t.raw.data(), t.raw.size());
    in_ptrs.push_back(t.raw.data());
  }
  std::vector<std::vector<uint8_t>> out_bufs;
  std::vector<const PTensor*> out_expect;
  for (const std::string& name : pn.outputs) {
    auto it = expected.find(name);
    if (name.empty() || it == expected.end()) {
      nb.output(HXRT_DTYPE_UNDEFINED, {});  // placeholder, replaced below
      out_expect.push_back(nullptr);
      continue;
    }
    if (!well_formed(it->second)) return "SKIP: output dtype " + std::to_string(it->second.dtype) + " or non-tensor value";
    nb.output(static_cast<hxrt_dtype>(it->second.dtype), it->second.dims);
    out_expect.push_back(&it->second);
  }
  for (const PAttr& a : pn.attrs) {
    switch (a.type) {
      case HXRT_ATTRIBUTE_FLOAT: nb.attr_float(a.name, a.f); break;
      case HXRT_ATTRIBUTE_INT: nb.attr_int(a.name, a.i); break;
      case HXRT_ATTRIBUTE_STRING: nb.attr_string(a.name, a.s); break;
      case HXRT_ATTRIBUTE_FLOATS: nb.attr_floats(a.name, a.floats); break;
      case HXRT_ATTRIBUTE_INTS: nb.attr_ints(a.name, a.ints); break;
      case HXRT_ATTRIBUTE_STRINGS: nb.attr_strings(a.name, a.strings); break;
      case HXRT_ATTRIBUTE_TENSOR:
        if (!supported_dtype(a.t->dtype)) return "SKIP: attribute dtype";
        nb.attr_tensor(a.name, static_cast<hxrt_dtype>(a.t->dtype), a.t->dims, a.t->raw.data(), a.t->raw.size());
        break;
      default: return "SKIP: attribute type " + std::to_string(a.type);
    }
  }
  hxrt_node_desc desc = nb.desc();
  // Omitted outputs are NULL descriptors.
  std::vector<const hxrt_tensor_desc*> outs(desc.outputs, desc.outputs + desc.num_outputs);
  for (size_t k = 0; k < outs.size(); ++k)
    if (!out_expect[k]) outs[k] = nullptr;
  desc.outputs = outs.data();
  NodeReader reader(desc);
  std::unique_ptr<Kernel> kernel;
  try {
    kernel = use_own ? own_kernel(reader) : create_kernel(reader);
  } catch (const Unsupported& e) {
    return std::string("unsupported: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("factory threw: ") + e.what();
  }
  std::vector<void*> out_ptrs;
  for (size_t k = 0; k < out_expect.size(); ++k) {
    out_bufs.emplace_back(out_expect[k] ? out_expect[k]->raw.size() : 0, 0xCD);
    out_ptrs.push_back(out_expect[k] ? out_bufs.back().data() : nullptr);
  }
  try {
    kernel->run(in_ptrs, out_ptrs);
  } catch (const std::exception& e) {
    return std::string("run threw: ") + e.what();
  }
  for (size_t k = 0; k < out_expect.size(); ++k) {
    if (!out_expect[k]) continue;
    std::string diff = compare(out_expect[k]->dtype, out_bufs[k], out_expect[k]->raw);
    if (!diff.empty()) return "output " + std::to_string(k) + ": " + diff;
  }
  return "";
}

std::filesystem::path node_test_root() {
  const char* env = std::getenv("HXRT_SHARED_DATA");
  std::vector<std::filesystem::path> candidates;
  if (env && *env) candidates.emplace_back(env);
  candidates.emplace_back("../shared/data");
  candidates.emplace_back("../../shared/data");
  candidates.emplace_back("../../../shared/data");
  candidates.emplace_back("../../../../shared/data");
  for (const auto& c : candidates)
    if (std::filesystem::exists(c / "onnx-node" / "MANIFEST.tsv")) return c / "onnx-node";
  return {};
}

// Tests the own kernels cannot pass yet (documented gaps).
const std::set<std::string>& known_gaps() {
  static const std::set<std::string> gaps = {};
  return gaps;
}

void run_manifest(bool use_own) {
  const auto root = node_test_root();
  if (root.empty()) GTEST_SKIP() << "ONNX node test data not found (set HXRT_SHARED_DATA)";
  std::ifstream manifest(root / "MANIFEST.tsv");
  std::string line;
  std::getline(manifest, line);  // header
  int passed = 0, skipped = 0, failed = 0, unsupported_count = 0;
  std::vector<std::string> failures;
  const char* filter = std::getenv("HXRT_OWN_NODE_FILTER");
  while (std::getline(manifest, line)) {
    std::istringstream fields(line);
    std::string name, op, opset, ir, n_inputs, kind;
    std::getline(fields, name, '\t');
    std::getline(fields, op, '\t');
    std::getline(fields, opset, '\t');
    std::getline(fields, ir, '\t');
    std::getline(fields, n_inputs, '\t');
    std::getline(fields, kind, '\t');
    if (kind != "single") continue;
    if (filter && name.find(filter) == std::string::npos) continue;
    const auto dir = root / "onnx" / "backend" / "test" / "data" / "node" / name;
    std::string result = run_node_test(dir, use_own);
    if (result.empty()) {
      ++passed;
    } else if (result.rfind("SKIP", 0) == 0) {
      ++skipped;
      if (std::getenv("HXRT_OWN_NODE_VERBOSE")) std::cout << "[skip] " << name << ": " << result << "\n";
    } else {
      if (result.rfind("unsupported", 0) == 0) ++unsupported_count;
      ++failed;
      if (!known_gaps().count(name)) failures.push_back(name + ": " + result);
      else std::cout << "[known gap] " << name << ": " << result << "\n";
    }
  }
  std::cout << (use_own ? "own kernels" : "full registry") << ": passed " << passed << ", failed " << failed
            << " (unsupported " << unsupported_count << "), skipped " << skipped << "\n";
  for (const auto& f : failures) {
    if (use_own)
      ADD_FAILURE() << f;
    else
      std::cout << "[registry] " << f << "\n";  // informative: includes other families' kernels
  }
}

TEST(OwnNodeTests, OnnxBackendSingleNodeOwnKernels) { run_manifest(true); }
TEST(OwnNodeTests, OnnxBackendSingleNodeFullRegistry) { run_manifest(false); }

}  // namespace
}  // namespace hxrt::cpu
