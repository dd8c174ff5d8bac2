// Shared by every part of the CUDA plugin: error conversion from CUDA, cuBLAS
// and cuDNN into PluginError, and the per-device library handles.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <mutex>
#include <string>

#include "hxrt/plugin_support/status.hpp"

namespace hxrt::cuda {

using plugin::PluginError;

// Errors that leave the CUDA context unusable are reported as a lost device (R7.4).
inline hxrt_status_code status_for(cudaError_t e) {
  switch (e) {
    case cudaErrorMemoryAllocation: return HXRT_STATUS_RESOURCE_EXHAUSTED;
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorECCUncorrectable:
    case cudaErrorDevicesUnavailable:
    case cudaErrorLaunchTimeout: return HXRT_STATUS_DEVICE_LOST;
    default: return HXRT_STATUS_INTERNAL;
  }
}

inline PluginError cuda_error(cudaError_t e, const std::string& what) {
  return PluginError(status_for(e), what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

inline void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw cuda_error(e, what);
}

inline void check_cublas(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  hxrt_status_code code = s == CUBLAS_STATUS_ALLOC_FAILED ? HXRT_STATUS_RESOURCE_EXHAUSTED : HXRT_STATUS_INTERNAL;
  throw PluginError(code, std::string(what) + ": cuBLAS status " + std::to_string(static_cast<int>(s)));
}

inline void check_cudnn(cudnnStatus_t s, const char* what) {
  if (s == CUDNN_STATUS_SUCCESS) return;
  hxrt_status_code code = s == CUDNN_STATUS_ALLOC_FAILED ? HXRT_STATUS_RESOURCE_EXHAUSTED : HXRT_STATUS_INTERNAL;
  throw PluginError(code, std::string(what) + ": cuDNN " + cudnnGetErrorString(s));
}

// Library handles of one device. Created lazily (cuDNN's costs ~100 ms) and
// used under `mutex`, since a handle is bound to one stream at a time.
struct Libraries {
  std::mutex mutex;
  cublasLtHandle_t lt = nullptr;
  cudnnHandle_t dnn = nullptr;

  cublasLtHandle_t blas() {
    if (lt == nullptr) check_cublas(cublasLtCreate(&lt), "cublasLtCreate");
    return lt;
  }
  cudnnHandle_t cudnn() {
    if (dnn == nullptr) check_cudnn(cudnnCreate(&dnn), "cudnnCreate");
    return dnn;
  }
  // Destroys the handles (call with their device current).
  void reset() {
    if (lt != nullptr) cublasLtDestroy(lt);
    if (dnn != nullptr) cudnnDestroy(dnn);
    lt = nullptr;
    dnn = nullptr;
  }
  ~Libraries() { reset(); }
};

// Sets the calling thread's current device (R10.1: no thread affinity).
inline void use_device(int ordinal) { check_cuda(cudaSetDevice(ordinal), "cudaSetDevice"); }

}  // namespace hxrt::cuda
