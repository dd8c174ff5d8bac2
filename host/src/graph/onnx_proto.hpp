// Private: includes the ONNX protobuf headers with their warnings silenced
// (they come in through a SYSTEM include dir too; this guards other setups).
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <onnx/onnx_pb.h>
#pragma GCC diagnostic pop
