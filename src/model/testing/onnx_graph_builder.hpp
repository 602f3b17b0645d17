#pragma once
// Test helper (header only, used by tests/unit/onnx_*_test.cpp): builds small ONNX models with the generated
// protobuf classes, so the tests need no model files and no Python.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "joulecast_onnx.pb.h"

namespace joulecast::test {

/// One input dimension: a size, or a symbolic name (dim_param), or (Dim::unknown()) neither.
struct Dim {
    Dim(std::int64_t v) : value(v) {}  // NOLINT: implicit on purpose, {1, "N", 3} reads well
    Dim(const char* p) : param(p) {}   // NOLINT
    static Dim unknown() { return Dim(std::int64_t{-1}); }
    std::int64_t value = -1;
    std::string param;
};

class OnnxGraphBuilder {
public:
    explicit OnnxGraphBuilder(std::int64_t opset = 17) {
        m_model.set_ir_version(8);
        m_model.set_producer_name("joulecast-tests");
        auto* import = m_model.add_opset_import();
        import->set_domain("");
        import->set_version(opset);
        m_model.mutable_graph()->set_name("test");
    }

    /// A graph input of float (or `elem_type`) elements with the given dimensions.
    void input(const std::string& name, const std::vector<Dim>& dims, int elem_type = 1) {
        auto* shape = add_value(m_model.mutable_graph()->add_input(), name, elem_type);
        for (const auto& d : dims) {
            auto* dim = shape->add_dim();
            if (!d.param.empty())
                dim->set_dim_param(d.param);
            else if (d.value >= 0)
                dim->set_dim_value(d.value);
        }
    }
    /// A graph input whose type has no shape at all.
    void input_without_shape(const std::string& name) {
        auto* value = m_model.mutable_graph()->add_input();
        value->set_name(name);
        value->mutable_type()->mutable_tensor_type()->set_elem_type(1);
    }
    /// A graph output (float, shape left to inference).
    void output(const std::string& name) {
        auto* value = m_model.mutable_graph()->add_output();
        value->set_name(name);
        value->mutable_type()->mutable_tensor_type()->set_elem_type(1);
    }
    /// A value_info entry stating the shape of an intermediate value.
    void value_info(const std::string& name, const std::vector<std::int64_t>& dims, int elem_type = 1) {
        auto* shape = add_value(m_model.mutable_graph()->add_value_info(), name, elem_type);
        for (auto d : dims) shape->add_dim()->set_dim_value(d);
    }

    /// A float initializer with these dimensions: a weight. Zeros as raw data, or, from 65,536 elements on,
    /// as external data (a file "weights.bin" that is never written: neither joulecast nor ONNX's shape
    /// inference reads weights, and large models keep theirs outside the .onnx file just so).
    void weight(const std::string& name, const std::vector<std::int64_t>& dims) {
        auto* t = add_initializer(name, dims, 1);
        std::int64_t n = 1;
        for (auto d : dims) n *= d;
        if (n < 65536) {
            t->set_raw_data(std::string(static_cast<std::size_t>(n) * 4, '\0'));
            return;
        }
        t->set_data_location(joulecast_onnx::TensorProto::EXTERNAL);
        auto add_entry = [t](const std::string& key, const std::string& value) {
            auto* entry = t->add_external_data();
            entry->set_key(key);
            entry->set_value(value);
        };
        add_entry("location", "weights.bin");
        add_entry("offset", std::to_string(m_external_bytes));
        add_entry("length", std::to_string(n * 4));
        m_external_bytes += n * 4;
    }
    /// A float initializer with values (float_data).
    void floats(const std::string& name, const std::vector<std::int64_t>& dims,
                const std::vector<float>& values) {
        auto* t = add_initializer(name, dims, 1);
        for (float v : values) t->add_float_data(v);
    }
    /// A 1-D int64 initializer (a shape, axes, ...).
    void ints(const std::string& name, const std::vector<std::int64_t>& values) {
        auto* t = add_initializer(name, {static_cast<std::int64_t>(values.size())}, 7);
        for (auto v : values) t->add_int64_data(v);
    }

    /// Appends a node; set attributes on the returned reference.
    joulecast_onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                                    const std::vector<std::string>& outputs, const std::string& name = "") {
        auto* n = m_model.mutable_graph()->add_node();
        n->set_op_type(op);
        n->set_name(name);
        for (const auto& i : inputs) n->add_input(i);
        for (const auto& o : outputs) n->add_output(o);
        return *n;
    }

    static void attr(joulecast_onnx::NodeProto& node, const std::string& name, std::int64_t value) {
        auto* a = add_attr(node, name, joulecast_onnx::AttributeProto::INT);
        a->set_i(value);
    }
    static void attr(joulecast_onnx::NodeProto& node, const std::string& name,
                     const std::vector<std::int64_t>& v) {
        auto* a = add_attr(node, name, joulecast_onnx::AttributeProto::INTS);
        for (auto x : v) a->add_ints(x);
    }
    static void attr(joulecast_onnx::NodeProto& node, const std::string& name, float value) {
        auto* a = add_attr(node, name, joulecast_onnx::AttributeProto::FLOAT);
        a->set_f(value);
    }
    static void attr(joulecast_onnx::NodeProto& node, const std::string& name, const std::string& value) {
        auto* a = add_attr(node, name, joulecast_onnx::AttributeProto::STRING);
        a->set_s(value);
    }

    joulecast_onnx::ModelProto& model() { return m_model; }
    std::string bytes() const {
        std::string out;
        if (!m_model.SerializeToString(&out)) throw std::runtime_error("cannot serialize the test model");
        return out;
    }
    /// Writes the model to `path` and returns it.
    std::filesystem::path write(const std::filesystem::path& path) const {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << bytes();
        if (!out) throw std::runtime_error("cannot write " + path.string());
        return path;
    }

private:
    static joulecast_onnx::TensorShapeProto* add_value(joulecast_onnx::ValueInfoProto* value,
                                                       const std::string& name, int elem_type) {
        value->set_name(name);
        auto* tensor = value->mutable_type()->mutable_tensor_type();
        tensor->set_elem_type(elem_type);
        return tensor->mutable_shape();
    }
    joulecast_onnx::TensorProto* add_initializer(const std::string& name,
                                                 const std::vector<std::int64_t>& dims, int elem_type) {
        auto* t = m_model.mutable_graph()->add_initializer();
        t->set_name(name);
        t->set_data_type(elem_type);
        for (auto d : dims) t->add_dims(d);
        return t;
    }
    static joulecast_onnx::AttributeProto* add_attr(joulecast_onnx::NodeProto& node, const std::string& name,
                                                    joulecast_onnx::AttributeProto::AttributeType type) {
        auto* a = node.add_attribute();
        a->set_name(name);
        a->set_type(type);
        return a;
    }

    joulecast_onnx::ModelProto m_model;
    std::int64_t m_external_bytes = 0;
};

}  // namespace joulecast::test
