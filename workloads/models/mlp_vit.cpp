// The two non-convolutional models of the zoo: a multilayer perceptron and a small vision transformer. Both
// are sized from the input shape (the MLP's first layer, the ViT's patch grid and position embedding).

#include "core/result.hpp"
#include "models/layers.hpp"

namespace joulecast::zoo::detail {

using core::UsageError;

namespace {

// ---- MLP

// Flattened pixels -> 512 -> ReLU -> 512 -> ReLU -> classes.
class Mlp : public ZooModel {
public:
    Mlp(InputShape input, std::int64_t classes) {
        constexpr std::int64_t hidden = 512;
        m_fc1 = register_module("fc1", linear(input.channels * input.height * input.width, hidden));
        m_fc2 = register_module("fc2", linear(hidden, hidden));
        m_fc3 = register_module("fc3", linear(hidden, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        x = torch::relu(m_fc1->forward(x.flatten(1)));
        x = torch::relu(m_fc2->forward(x));
        return m_fc3->forward(x);
    }

private:
    std::shared_ptr<Linear> m_fc1, m_fc2, m_fc3;
};

// ---- ViT

// Pre-norm transformer encoder block: x + attention(norm(x)), then x + mlp(norm(x)) with GELU.
class EncoderBlock : public torch::nn::Module {
public:
    EncoderBlock(std::int64_t dim, std::int64_t heads, std::int64_t mlp_dim) {
        m_norm1 = register_module("norm1", std::make_shared<LayerNorm>(dim));
        m_attention = register_module("attn", std::make_shared<SelfAttention>(dim, heads));
        m_norm2 = register_module("norm2", std::make_shared<LayerNorm>(dim));
        m_fc1 = register_module("fc1", linear(dim, mlp_dim));
        m_fc2 = register_module("fc2", linear(mlp_dim, dim));
    }

    torch::Tensor forward(torch::Tensor x) {
        x = x + m_attention->forward(m_norm1->forward(x));
        return x + m_fc2->forward(torch::gelu(m_fc1->forward(m_norm2->forward(x))));
    }

private:
    std::shared_ptr<LayerNorm> m_norm1, m_norm2;
    std::shared_ptr<SelfAttention> m_attention;
    std::shared_ptr<Linear> m_fc1, m_fc2;
};

// Patch embedding (a patch x patch conv with stride patch), a learned class token prepended, learned position
// embeddings, `depth` encoder blocks, a final LayerNorm and a linear head on the class token.
class VisionTransformer : public ZooModel {
public:
    static constexpr std::int64_t patch = 4;
    static constexpr std::int64_t dim = 128;
    static constexpr std::int64_t depth = 4;
    static constexpr std::int64_t heads = 4;
    static constexpr std::int64_t mlp_dim = 256;

    VisionTransformer(InputShape input, std::int64_t classes) {
        if (input.height < patch || input.width < patch) {
            throw UsageError("vit needs an input of at least " + std::to_string(patch) + "x" +
                             std::to_string(patch) + ", got " + std::to_string(input.height) + "x" +
                             std::to_string(input.width));
        }
        // Edge rows and columns that do not fill a whole patch are dropped, as a strided conv does.
        const std::int64_t patches = (input.height / patch) * (input.width / patch);
        m_patch_embed = register_module("patch_embed", conv(input.channels, dim, patch, patch, 0, true));
        m_cls_token = register_parameter("cls_token", torch::randn({1, 1, dim}) * 0.02);
        m_pos_embed = register_parameter("pos_embed", torch::randn({1, patches + 1, dim}) * 0.02);
        m_blocks = register_module("blocks", torch::nn::Sequential());
        for (std::int64_t i = 0; i < depth; ++i)
            m_blocks->push_back(std::make_shared<EncoderBlock>(dim, heads, mlp_dim));
        m_norm = register_module("norm", std::make_shared<LayerNorm>(dim));
        m_head = register_module("head", linear(dim, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        x = m_patch_embed->forward(x).flatten(2).transpose(1, 2);  // [N, patches, dim]
        x = torch::cat({m_cls_token.expand({x.size(0), 1, dim}), x}, 1) + m_pos_embed;
        x = m_norm->forward(m_blocks->forward(x));
        return m_head->forward(x.select(1, 0));
    }

private:
    std::shared_ptr<Conv> m_patch_embed;
    torch::Tensor m_cls_token, m_pos_embed;
    torch::nn::Sequential m_blocks{nullptr};
    std::shared_ptr<LayerNorm> m_norm;
    std::shared_ptr<Linear> m_head;
};

}  // namespace

std::shared_ptr<ZooModel> make_mlp(InputShape input, std::int64_t classes) {
    return std::make_shared<Mlp>(input, classes);
}
std::shared_ptr<ZooModel> make_vit(InputShape input, std::int64_t classes) {
    return std::make_shared<VisionTransformer>(input, classes);
}

}  // namespace joulecast::zoo::detail
