// Test oracle, never part of joulecast: prints the shapes that ONNX's own shape inference (Debian's shared
// libonnx) gives every value of a model, so the ONNX tests can cross-check joulecast's shape propagation.
//
// usage: onnx_shape_oracle MODEL.onnx
// prints one line per value: "<name> <dims>", dims joined with 'x' (a symbolic dimension by its name, an
// unknown one as '?', rank 0 as "scalar"); exit 1 with a message when the model cannot be read or inferred.

#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

namespace {

std::string dims(const onnx::TypeProto& type) {
    if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return "?";
    const auto& shape = type.tensor_type().shape();
    if (shape.dim_size() == 0) return "scalar";
    std::string out;
    for (int i = 0; i < shape.dim_size(); ++i) {
        const auto& d = shape.dim(i);
        out += i ? "x" : "";
        out += d.has_dim_value() ? std::to_string(d.dim_value()) : d.has_dim_param() ? d.dim_param() : "?";
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: onnx_shape_oracle MODEL.onnx\n";
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    onnx::ModelProto model;
    if (!in || !model.ParseFromString(bytes)) {
        std::cerr << "cannot parse " << argv[1] << '\n';
        return 1;
    }
    try {
        // Strict mode, with data propagation so that Shape -> ... -> Reshape chains are followed.
        onnx::ShapeInferenceOptions options(true, 1, true);
        onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
    } catch (const std::exception& e) {
        std::cerr << "shape inference failed: " << e.what() << '\n';
        return 1;
    }
    for (const auto& v : model.graph().value_info()) std::cout << v.name() << ' ' << dims(v.type()) << '\n';
    for (const auto& v : model.graph().output()) std::cout << v.name() << ' ' << dims(v.type()) << '\n';
    return 0;
}
