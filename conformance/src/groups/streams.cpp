// Streams and events: in-order execution (R7.2), event semantics (R7.5),
// sticky errors carried by events (R7.4), destruction rules (R3.1) and use
// from several threads at once (R10.2). Stress variants run in the full profile.
#include <atomic>
#include <cstring>
#include <thread>

#include "abi_views.hpp"
#include "groups/common.hpp"
#include "op_runner.hpp"

namespace hxrt::conformance {
namespace {

constexpr size_t kBig = 16u << 20;  // large enough that an asynchronous plugin is still busy

void streams_group(GroupContext& g, bool stress) {
  const int threads = stress ? 8 : 4, rounds = stress ? 200 : 25;
  for_each_device(g, [&](const Plugin& loaded, Device& dev, int di) {
    const Plugin* plugin = &loaded;
    const hxrt_plugin_api* api = loaded.api();
    (void)api;

    if (!stress) {
      g.check("in_order", "R7.2", [&](Check& c) {
        Stream s = dev.must_stream();
        Buffer buf = dev.must_allocate(kBig);
        std::vector<uint8_t> a = pattern(kBig, 1), b = pattern(kBig, 2), h1(kBig), h2(kBig);
        must(dev.copy_to_device(s.get(), a.data(), buf.get(), 0, kBig), "copy_to_device A");
        must(dev.copy_to_host(s.get(), buf.get(), 0, h1.data(), kBig), "copy_to_host 1");
        must(dev.copy_to_device(s.get(), b.data(), buf.get(), 0, kBig), "copy_to_device B");
        must(dev.copy_to_host(s.get(), buf.get(), 0, h2.data(), kBig), "copy_to_host 2");
        must(dev.synchronize(s.get()), "stream_synchronize");
        std::string d1 = compare_bytes(h1.data(), a.data(), kBig), d2 = compare_bytes(h2.data(), b.data(), kBig);
        c.expect(d1.empty(), "the first read-back must see A, not later work: " + d1);
        c.expect(d2.empty(), "the second read-back must see B: " + d2);
      }, di);
      g.check("events.host_wait", "R7.5", [&](Check& c) {
        // event_synchronize returns only once the recorded work is done.
        Stream s = dev.must_stream();
        Event e = dev.must_event();
        Buffer buf = dev.must_allocate(kBig);
        for (int round = 0; round < 3; ++round) {
          std::vector<uint8_t> data = pattern(kBig, 10 + round), out(kBig, 0);
          for (int i = 0; i < 4; ++i) must(dev.copy_to_device(s.get(), data.data(), buf.get(), 0, kBig), "copy_to_device");
          must(dev.copy_to_host(s.get(), buf.get(), 0, out.data(), kBig), "copy_to_host");
          must(dev.record(e.get(), s.get()), "event_record");
          must(Status(api, api->event_synchronize(e.get())), "event_synchronize");
          std::string diff = compare_bytes(out.data(), data.data(), kBig);
          c.expect(diff.empty(), "round " + std::to_string(round) + ": after event_synchronize the copy was not done: " + diff);
          if (HXRT_CONF_HAS(*plugin, event_query)) {
            hxrt_event_query_args q{};
            q.struct_size = sizeof(q);
            q.event = e.get();
            must(Status(api, api->event_query(&q)), "event_query");
            c.expect(q.completed != 0, "event_query says not completed after event_synchronize returned");
          }
          must(dev.synchronize(s.get()), "stream_synchronize");
        }
      }, di);
      g.check("events.never_recorded", "R7.5", [&](Check& c) {
        Event e = dev.must_event();
        expect_code(c, Status(api, api->event_synchronize(e.get())), HXRT_STATUS_OK, "event_synchronize(never recorded)");
        if (HXRT_CONF_HAS(*plugin, event_query)) {
          hxrt_event_query_args q{};
          q.struct_size = sizeof(q);
          q.event = e.get();
          expect_code(c, Status(api, api->event_query(&q)), HXRT_STATUS_OK, "event_query(never recorded)");
          c.expect(q.completed != 0, "a never-recorded event must read as completed");
        }
        Stream s = dev.must_stream();
        expect_code(c, dev.wait(s.get(), e.get()), HXRT_STATUS_OK, "stream_wait_event(never recorded)");
        expect_code(c, dev.synchronize(s.get()), HXRT_STATUS_OK, "stream_synchronize after waiting on a never-recorded event");
      }, di);
      g.check("events.cross_stream_chain", "R7.5", [&](Check& c) {
        // A -> B -> C through events; each stage copies the previous buffer on.
        Stream sa = dev.must_stream(), sb = dev.must_stream(), sc = dev.must_stream();
        Event ea = dev.must_event(), eb = dev.must_event();
        Buffer b1 = dev.must_allocate(kBig), b2 = dev.must_allocate(kBig);
        std::vector<uint8_t> data = pattern(kBig, 20), mid(kBig, 0), out(kBig, 0);
        must(dev.copy_to_device(sa.get(), data.data(), b1.get(), 0, kBig), "copy_to_device on A");
        must(dev.record(ea.get(), sa.get()), "event_record on A");
        must(dev.wait(sb.get(), ea.get()), "stream_wait_event B on A");
        must(dev.copy_to_host(sb.get(), b1.get(), 0, mid.data(), kBig), "copy_to_host on B");
        must(dev.copy_to_device(sb.get(), data.data(), b2.get(), 0, kBig), "copy_to_device on B");
        must(dev.record(eb.get(), sb.get()), "event_record on B");
        ea.reset();  // R3.1.4: an event may go once the calls using it returned
        must(dev.wait(sc.get(), eb.get()), "stream_wait_event C on B");
        eb.reset();
        must(dev.copy_to_host(sc.get(), b2.get(), 0, out.data(), kBig), "copy_to_host on C");
        must(dev.synchronize(sc.get()), "stream_synchronize C");
        std::string d1 = compare_bytes(out.data(), data.data(), kBig);
        c.expect(d1.empty(), "stream C ran before the work it waited for: " + d1);
        must(dev.synchronize(sb.get()), "stream_synchronize B");
        std::string d2 = compare_bytes(mid.data(), data.data(), kBig);
        c.expect(d2.empty(), "stream B ran before the work it waited for: " + d2);
      }, di);
      g.check("events.carry_error", "R7.4", [&](Check& c) {
        // An execution error is provoked with Gather and out-of-range runtime
        // indices, when the plugin claims that node and reports such errors.
        OpCase gc;
        gc.op = "Gather";
        gc.opset = 13;
        gc.inputs = {{Tensor(HXRT_DTYPE_FLOAT32, {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), false, false},
                     {Tensor(HXRT_DTYPE_INT64, {2}, {1, 0}), false, false}};
        gc.expected = {Tensor(HXRT_DTYPE_FLOAT32, {2, 2}, {3, 4, 1, 2})};
        host::Graph graph = build_graph(gc);
        host::NodeView view(graph, graph.nodes[0]);
        QueryAnswer q;
        must(query(dev, view.desc(), q), "query_op_support(Gather)");
        if (!q.supported) c.skip("no way to provoke an execution error: Gather is not claimed (" + q.describe() + ")");
        host::SubgraphView sub(graph, {0}, true);
        Executable exe;
        must(dev.compile(sub.desc(), exe), "executable_compile(Gather)");
        Stream s = dev.must_stream(), w = dev.must_stream();
        Event e = dev.must_event();
        Tensor bad_idx(HXRT_DTYPE_INT64, {2}, {1, 1000});
        std::vector<uint8_t> xb = encode(gc.inputs[0].t), ib = encode(bad_idx), out(16, 0);
        Buffer bx = dev.must_allocate(xb.size()), bi = dev.must_allocate(ib.size()), by = dev.must_allocate(16);
        must(dev.copy_to_device(s.get(), xb.data(), bx.get(), 0, xb.size()), "copy_to_device");
        must(dev.copy_to_device(s.get(), ib.data(), bi.get(), 0, ib.size()), "copy_to_device");
        must(dev.synchronize(s.get()), "stream_synchronize");
        hxrt_buffer* ins[] = {bx.get(), bi.get()};
        hxrt_buffer* outs[] = {by.get()};
        hxrt_executable_execute_args a{};
        a.struct_size = sizeof(a);
        a.executable = exe.get();
        a.stream = s.get();
        a.num_inputs = 2;
        a.input_buffers = ins;
        a.num_outputs = 1;
        a.output_buffers = outs;
        Status enq(api, api->executable_execute(&a));
        c.expect(enq.ok(), "executable_execute must not report an execution error at enqueue time: " + enq.describe());
        must(dev.record(e.get(), s.get()), "event_record");
        must(dev.wait(w.get(), e.get()), "stream_wait_event");
        Status es1(api, api->event_synchronize(e.get()));
        if (es1.ok()) {
          must(dev.synchronize(s.get()), "stream_synchronize");
          c.skip("the plugin reports no error for out-of-range Gather indices (behaviour is undefined in ONNX), so "
                 "no execution error could be provoked");
        }
        Status es2(api, api->event_synchronize(e.get()));
        c.expect(!es2.ok() && es2.code() == es1.code(),
                 "event_synchronize must return the carried error on every call: second call " + es2.describe());
        Status ws(api, api->stream_synchronize(w.get()));
        c.expect(!ws.ok(), "a stream waiting on an event with an error must inherit it (R7.5)");
        Status ss(api, api->stream_synchronize(s.get()));
        c.expect(!ss.ok(), "stream_synchronize must return the sticky error");
        Status again(api, api->stream_synchronize(s.get()));
        c.expect(again.ok(), "the sticky error must be cleared by stream_synchronize: " + again.describe());
        // The stream runs new work normally afterwards.
        std::vector<uint8_t> data = pattern(64, 3), back(64);
        Buffer b = dev.must_allocate(64);
        must(dev.copy_to_device(s.get(), data.data(), b.get(), 0, 64), "copy_to_device");
        must(dev.copy_to_host(s.get(), b.get(), 0, back.data(), 64), "copy_to_host");
        Status after(api, api->stream_synchronize(s.get()));
        c.expect(after.ok() && compare_bytes(back.data(), data.data(), 64).empty(),
                 "the stream does not run new work normally after its error was cleared: " + after.describe());
        c.note("execution error provoked: " + es1.describe());
      }, di);
      g.check("stream_destroy_waits", "R3.1", [&](Check& c) {
        // stream_destroy waits for enqueued work before it returns.
        Buffer buf = dev.must_allocate(kBig);
        std::vector<uint8_t> data = pattern(kBig, 30), out(kBig, 0);
        {
          Stream s = dev.must_stream();
          for (int i = 0; i < 3; ++i) must(dev.copy_to_device(s.get(), data.data(), buf.get(), 0, kBig), "copy_to_device");
          must(dev.copy_to_host(s.get(), buf.get(), 0, out.data(), kBig), "copy_to_host");
        }
        std::string diff = compare_bytes(out.data(), data.data(), kBig);
        c.expect(diff.empty(), "stream_destroy returned before its work finished: " + diff);
      }, di);
      g.check("no_thread_leak", "R10.4", [&](Check& c) {
        int before = thread_count();
        for (int i = 0; i < 64; ++i) {
          Stream s = dev.must_stream();
          Event e = dev.must_event();
          must(dev.record(e.get(), s.get()), "event_record");
          must(dev.synchronize(s.get()), "stream_synchronize");
        }
        int after = thread_count();
        c.expect(after <= before + 2, "threads grew from " + std::to_string(before) + " to " + std::to_string(after) +
                                          " over 64 stream create/destroy cycles");
      }, di);
    }

    g.check(stress ? "threads.many_streams" : "threads.streams", "R10.2", [&](Check& c) {
      // Each thread has its own stream and buffer, round-trips concurrently.
      std::atomic<int> failures{0};
      std::vector<std::string> first(threads);
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
          try {
            Stream s = dev.must_stream();
            const size_t size = 4096 + static_cast<size_t>(t) * 17;
            Buffer b = dev.must_allocate(size);
            for (int r = 0; r < rounds; ++r) {
              std::vector<uint8_t> data = pattern(size, static_cast<uint32_t>(t * 1000 + r)), out(size, 0);
              must(dev.copy_to_device(s.get(), data.data(), b.get(), 0, size), "copy_to_device");
              must(dev.copy_to_host(s.get(), b.get(), 0, out.data(), size), "copy_to_host");
              must(dev.synchronize(s.get()), "stream_synchronize");
              std::string diff = compare_bytes(out.data(), data.data(), size);
              if (!diff.empty()) {
                if (failures++ == 0) first[t] = "thread " + std::to_string(t) + " round " + std::to_string(r) + ": " + diff;
              }
            }
          } catch (const std::exception& e) {
            if (failures++ == 0) first[t] = e.what();
          }
        });
      for (auto& th : pool) th.join();
      for (const auto& f : first)
        if (!f.empty()) c.fail(f);
      c.expect(failures == 0, std::to_string(failures.load()) + " concurrent round trips failed");
    }, di);
    g.check(stress ? "threads.shared_stream_heavy" : "threads.shared_stream", "R7.2", [&](Check& c) {
      // Several threads enqueue on one stream at once, each into its own region.
      Stream s = dev.must_stream();
      const size_t region = 8192 + 5;
      Buffer b = dev.must_allocate(region * static_cast<size_t>(threads));
      std::vector<std::vector<uint8_t>> data, out;
      for (int t = 0; t < threads; ++t) {
        data.push_back(pattern(region, static_cast<uint32_t>(100 + t)));
        out.emplace_back(region, 0);
      }
      std::atomic<int> errors{0};
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
          for (int r = 0; r < rounds; ++r) {
            size_t off = region * static_cast<size_t>(t);
            if (!dev.copy_to_device(s.get(), data[t].data(), b.get(), off, region).ok()) ++errors;
            if (!dev.copy_to_host(s.get(), b.get(), off, out[t].data(), region).ok()) ++errors;
          }
        });
      for (auto& th : pool) th.join();
      must(dev.synchronize(s.get()), "stream_synchronize");
      c.expect(errors == 0, std::to_string(errors.load()) + " concurrent enqueues failed");
      for (int t = 0; t < threads; ++t) {
        std::string diff = compare_bytes(out[t].data(), data[t].data(), region);
        c.expect(diff.empty(), "thread " + std::to_string(t) + ": " + diff);
      }
    }, di);
    g.check(stress ? "threads.alloc_heavy" : "threads.alloc", "R10.2", [&](Check& c) {
      std::atomic<int> errors{0};
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
          for (int r = 0; r < rounds * 4; ++r) {
            Buffer b;
            if (!dev.allocate(static_cast<uint64_t>(64 + (r * 37 + t) % 4096), HXRT_MEMORY_DEVICE, b).ok()) ++errors;
            Event e;
            if (!dev.create_event(e).ok()) ++errors;
          }
        });
      for (auto& th : pool) th.join();
      c.expect(errors == 0, std::to_string(errors.load()) + " concurrent allocations failed");
    }, di);
  });
}

}  // namespace

void add_stream_groups(std::vector<GroupInfo>& groups) {
  groups.push_back({"streams", "streams", Profile::kCore,
                    "in-order execution, host waits, cross-stream waits, events carrying errors, destroy rules, threads",
                    "R3.1 R7.2 R7.4 R7.5 R10.2 R10.4", [](GroupContext& g) { streams_group(g, false); }});
  groups.push_back({"stress", "stress.streams", Profile::kFull,
                    "more threads and rounds on streams, shared streams and allocation", "R7.2 R10.2",
                    [](GroupContext& g) { streams_group(g, true); }});
}

}  // namespace hxrt::conformance
