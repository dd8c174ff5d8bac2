// The executor's per-run state, shared by executor.cpp (planning and runs)
// and executor_trace.cpp (tracing and the predicted schedule). The header
// names what one run in flight owns; only the executor includes it.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "executor.hpp"

namespace hxrt::host {

struct Executor::Staging {
  BufferPtr pinned;               // a HOST_PINNED buffer of the producing device, when it offers one
  std::vector<uint8_t> pageable;  // otherwise
  uint8_t* data = nullptr;
  std::vector<EventPtr> chunk_ready;  // one per chunk, signalled on the producing device
  // The staging memory registered with receiving plugins that wrap host memory
  // (R4.6), so their hop reads it at pinned speed. Declared last: released first.
  std::vector<BufferPtr> registrations;
};

struct Executor::Context {
  // Host memory behind the arenas of CPU-type devices that wrap it; declared
  // before the arenas, so freed after the wrappings.
  std::vector<std::unique_ptr<void, void (*)(void*)>> host_arenas;
  std::vector<StreamPtr> streams;  // [device * kRoles + role]: compute, copy-in and copy-out stream per used device
  std::vector<BufferPtr> arenas;   // one per used device
  std::vector<uint8_t*> arena_host;  // the arena's host address on host-addressable devices, else nullptr
  // Arenas registered with the device that copies into or out of them in one
  // hop (buffer_wrap_host_memory, R4.6): such copies run at pinned speed.
  // Declared after the arenas, so released before them.
  std::vector<BufferPtr> registrations;
  std::map<int, Staging> staging;  // value -> host staging
  std::map<Key, EventPtr> arrived;        // (value, device) -> recorded on the copy-in stream after its copy
  std::vector<EventPtr> produced;         // per step (where step_signals_): recorded after it ran
  std::map<int, EventPtr> direct_ready;   // crossing value -> its one-hop copies into host-addressable arenas are done
  std::vector<EventPtr> trace_events;     // one per action, made on the first traced run
  std::vector<std::vector<BufferSlice>> step_inputs, step_outputs;
};

struct Executor::RunState {
  // Zero-copy: caller buffers wrapped as device buffers for this run only.
  // Destroyed after the run's streams are drained.
  std::vector<BufferPtr> wrapped;
  std::map<Key, BufferSlice> bound;  // (value, device) -> caller memory instead of the arena
  std::map<Key, uint8_t*> bound_host;
  std::set<int> uploads_skipped;      // graph input slots bound on every device that reads them
  // Per device, touched only by the thread enqueueing that device's actions:
  // values its copy-in stream delivered that its compute stream has not waited for yet,
  explicit RunState(size_t devices) : arrivals_pending(devices), producer_waited(devices) {}
  std::vector<std::set<Key>> arrivals_pending;
  // and (stream role, step) pairs: that copy stream already waits for the step.
  std::vector<std::set<std::pair<int, int>>> producer_waited;
};

}  // namespace hxrt::host
