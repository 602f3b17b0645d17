#include "core/redact.hpp"

#include <gtest/gtest.h>

namespace joulecast::core {
namespace {

using Argv = std::vector<std::string>;

TEST(Redact, MasksValuesOfArgumentsNamedLikeSecrets) {
    const Argv argv = {"python3",     "train.py", "--api-token=abc123", "--password", "hunter2",
                       "--epochs",    "3",        "WANDB_API_KEY=k-99", "--lr=0.1",   "--secret-file",
                       "/run/secret", "--keys",   "--verbose"};
    auto out = redact_command(argv, default_redact_patterns());
    const Argv expected = {"python3",  "train.py", "--api-token=***",   "--password", "***",
                           "--epochs", "3",        "WANDB_API_KEY=***", "--lr=0.1",   "--secret-file",
                           "***",      "--keys",   "--verbose"};
    EXPECT_EQ(out.argv, expected);
    EXPECT_EQ(out.masked, 4);
}

TEST(Redact, NamesMatchCaseInsensitivelyAndExtraPatternsApply) {
    auto out = redact_command({"tool", "--Auth-TOKEN", "x", "--dsn=postgres://u:p@h/db", "-P", "pw"},
                              {"*token*", "dsn", "p"});
    EXPECT_EQ(out.argv, (Argv{"tool", "--Auth-TOKEN", "***", "--dsn=***", "-P", "***"}));
    EXPECT_EQ(out.masked, 3);
}

TEST(Redact, LeavesTheProgramAndOrdinaryArgumentsAlone) {
    const Argv argv = {"/opt/token-tool", "--model", "resnet", "--", "model=resnet", "-"};
    auto out = redact_command(argv, default_redact_patterns());
    EXPECT_EQ(out.argv, argv);
    EXPECT_EQ(out.masked, 0);
    // A secret-named option at the end, or followed by another option, has no value to mask.
    EXPECT_EQ(redact_command({"x", "--token"}, default_redact_patterns()).masked, 0);
    EXPECT_EQ(redact_command({"x", "--token", "--next"}, default_redact_patterns()).masked, 0);
}

}  // namespace
}  // namespace joulecast::core
