// Workgroup-wide reductions through shared memory (portable: no subgroup
// operations are assumed). The workgroup size is a power of two.
shared float wg_scratch[gl_WorkGroupSize.x];

float wg_sum(float v) {
  uint t = gl_LocalInvocationID.x;
  barrier();
  wg_scratch[t] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
    if (t < s) wg_scratch[t] += wg_scratch[t + s];
    barrier();
  }
  return wg_scratch[0];
}

float wg_max(float v) {
  uint t = gl_LocalInvocationID.x;
  barrier();
  wg_scratch[t] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
    if (t < s) wg_scratch[t] = max(wg_scratch[t], wg_scratch[t + s]);
    barrier();
  }
  return wg_scratch[0];
}

float wg_min(float v) {
  uint t = gl_LocalInvocationID.x;
  barrier();
  wg_scratch[t] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
    if (t < s) wg_scratch[t] = min(wg_scratch[t], wg_scratch[t + s]);
    barrier();
  }
  return wg_scratch[0];
}

float wg_prod(float v) {
  uint t = gl_LocalInvocationID.x;
  barrier();
  wg_scratch[t] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
    if (t < s) wg_scratch[t] *= wg_scratch[t + s];
    barrier();
  }
  return wg_scratch[0];
}
