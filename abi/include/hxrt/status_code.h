/* hxrt — status codes shared by the plugin ABI and the public host API.
 *
 * The numeric values are stable forever (ABI rule R3.2 in docs/abi.md): new
 * codes are only ever appended. Compiles as C11 and C++. */
#ifndef HXRT_STATUS_CODE_H_
#define HXRT_STATUS_CODE_H_

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hxrt_status_code {
  HXRT_STATUS_OK = 0,
  /* The caller passed a NULL, out-of-range or inconsistent argument. */
  HXRT_STATUS_INVALID_ARGUMENT = 1,
  /* The operation, op, dtype or feature is not implemented by this component. */
  HXRT_STATUS_UNIMPLEMENTED = 2,
  /* A device, driver or library is not present or not usable right now. */
  HXRT_STATUS_UNAVAILABLE = 3,
  /* Out of memory (host or device) or another finite resource. */
  HXRT_STATUS_RESOURCE_EXHAUSTED = 4,
  /* A bug or an unexpected failure inside the component. */
  HXRT_STATUS_INTERNAL = 5,
  /* A named thing (file, symbol, input, device) does not exist. */
  HXRT_STATUS_NOT_FOUND = 6,
  /* The object is in the wrong state for the call (e.g. destroyed stream). */
  HXRT_STATUS_FAILED_PRECONDITION = 7,
  /* ABI major versions differ; the message names both versions. */
  HXRT_STATUS_VERSION_MISMATCH = 8,
  /* An index or size lies outside a valid range (e.g. copy past a buffer end). */
  HXRT_STATUS_OUT_OF_RANGE = 9,
  /* Input data (a model, a tensor file) is malformed. */
  HXRT_STATUS_DATA_LOSS = 10,
  /* The device was lost or reset; its objects can only be destroyed. */
  HXRT_STATUS_DEVICE_LOST = 11
} hxrt_status_code;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HXRT_STATUS_CODE_H_ */
