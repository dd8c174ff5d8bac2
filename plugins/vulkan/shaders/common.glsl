// Shared by every shader: tensors are reached through buffer device
// addresses held in push constants (no descriptor sets), laid out exactly as
// hxrt::vk::PushConstants in src/vk_device.hpp. Index arithmetic is 32-bit:
// the planner refuses tensors of 2^31 elements or more.
#extension GL_EXT_buffer_reference : require

layout(buffer_reference, std430, buffer_reference_align = 4) buffer Floats { float v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Ints { int v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Uints { uint v[]; };

layout(push_constant) uniform PushConstants {
  layout(offset = 0) Floats t0;
  layout(offset = 8) Floats t1;
  layout(offset = 16) Floats t2;
  layout(offset = 24) Floats t3;
  layout(offset = 32) Floats t4;
  layout(offset = 40) Floats t5;
  layout(offset = 48) Ints prm;  // the node's int32 parameter block
  layout(offset = 56) uint n;
  layout(offset = 60) uint u0;
  layout(offset = 64) uint u1;
  layout(offset = 68) uint u2;
  layout(offset = 72) uint u3;
  layout(offset = 76) uint u4;
  layout(offset = 80) uint u5;
  layout(offset = 84) uint u6;
  layout(offset = 88) float f0;
  layout(offset = 92) float f1;
  layout(offset = 96) float f2;
  layout(offset = 100) float f3;
} pc;

layout(local_size_x_id = 0) in;

// Grid-stride loops: the host dispatches at most maxComputeWorkGroupCount[0]
// groups along x, so any element count is covered.
uint first_index() { return gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x; }
uint index_stride() { return gl_NumWorkGroups.x * gl_WorkGroupSize.x; }
