// ConfigSchema: one description gives reading (in declaration order, unknown keys named, types
// and rules checked), writing back, and the key list for help texts; defaults come from the
// struct.
#include "elit/runtime/config_schema.h"

#include <gtest/gtest.h>

namespace elit {
namespace {

struct Toy {
  int64_t steps = 10;
  double rate = 0.5;
  bool on = false;
  std::string name = "toy";
  std::optional<int64_t> size;
  std::vector<int64_t> dims = {1, 2};
  std::string folder;  // "" = not given (null)
  int64_t twice_steps = 0;
};

const ConfigSchema<Toy>& schema() {
  static const auto s = ConfigSchema<Toy>("toy config")
                            .key("steps", &Toy::steps, "updates", positive<int64_t>())
                            .key("rate", &Toy::rate, "a rate", in_range(0.0, 1.0))
                            .key("on", &Toy::on, "a switch")
                            .own()
                            .key("name", &Toy::name, "a name", one_of<std::string>({"toy", "game"}))
                            .key("size", &Toy::size, "a size or null", at_least<int64_t>(1))
                            .key("dims", &Toy::dims, "a list")
                            .nullable_text("folder", &Toy::folder, "a folder or null")
                            // read after "steps": declaration order is reading order
                            .custom("twice", "bool", "sets twice_steps from steps",
                                    [](const nlohmann::json& v, Toy& t) {
                                      if (v.get<bool>()) t.twice_steps = 2 * t.steps;
                                    })
                            .accepted("legacy", "accepted, no effect");
  return s;
}

std::string error_of(const nlohmann::json& j) {
  try {
    Toy t;
    schema().read(j, t);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigSchema, DefaultsComeFromTheStructAndRoundTrip) {
  Toy t;
  schema().read(nlohmann::json::object(), t);
  const auto j = schema().to_json(t);
  EXPECT_EQ(j["steps"], 10);
  EXPECT_EQ(j["size"], nullptr);
  EXPECT_EQ(j["folder"], nullptr);
  EXPECT_EQ(j["dims"], nlohmann::json({1, 2}));
  EXPECT_FALSE(j.contains("twice")) << "a key without a writer is not written";
  EXPECT_FALSE(j.contains("legacy"));
  Toy u;
  u.steps = 3;
  schema().read(j, u);  // what to_json wrote reads back to the same values
  EXPECT_EQ(schema().to_json(u), j);
}

TEST(ConfigSchema, ReadsInDeclarationOrderWithNullsAndWholeFloats) {
  Toy t;
  schema().read({{"twice", true},
                 {"steps", 4.0},  // YAML may read a whole number as a float
                 {"size", 7},
                 {"folder", "/data"},
                 {"legacy", {{"anything", 1}}}},
                t);
  EXPECT_EQ(t.steps, 4);
  EXPECT_EQ(t.twice_steps, 8) << "'twice' is read after 'steps', whatever the JSON order";
  EXPECT_EQ(t.size, 7);
  EXPECT_EQ(t.folder, "/data");
  schema().read({{"size", nullptr}, {"folder", nullptr}}, t);
  EXPECT_FALSE(t.size.has_value());
  EXPECT_EQ(t.folder, "");
}

TEST(ConfigSchema, ErrorsNameTheKeyTheValueAndWhatWasExpected) {
  const auto unknown = error_of({{"stpes", 1}, {"rat", 2}});
  EXPECT_NE(unknown.find("toy config: unknown keys 'rat', 'stpes'; known keys: steps rate"),
            std::string::npos)
      << unknown;
  EXPECT_NE(error_of({{"steps", 2.5}}).find("key 'steps' must be an integer, got 2.5"),
            std::string::npos);
  EXPECT_NE(error_of({{"steps", 1e30}}).find("must be an integer"), std::string::npos)
      << "out of int64 range";
  EXPECT_NE(error_of({{"steps", 0}}).find("key 'steps' must be > 0, got 0"), std::string::npos);
  EXPECT_NE(error_of({{"rate", 1.5}}).find("must be in [0.0, 1.0], got 1.5"), std::string::npos)
      << error_of({{"rate", 1.5}});
  EXPECT_NE(error_of({{"name", "x"}}).find("must be one of \"toy\" | \"game\""), std::string::npos);
  EXPECT_NE(error_of({{"size", 0}}).find("'size' must be >= 1"), std::string::npos);
  EXPECT_NE(error_of({{"on", "yes"}}).find("'on' must be true or false"), std::string::npos);
  EXPECT_NE(error_of({{"dims", {1, "x"}}}).find("'dims' entry 1 must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of(nlohmann::json::array()).find("toy config must be a mapping"),
            std::string::npos);
}

TEST(ConfigSchema, KeysCarryTypeDocRuleAndOrigin) {
  const auto* steps = schema().find("steps");
  ASSERT_NE(steps, nullptr);
  EXPECT_EQ(steps->type, "int");
  EXPECT_EQ(steps->doc, "updates");
  EXPECT_EQ(steps->must_be, "> 0");
  EXPECT_TRUE(steps->published);
  EXPECT_FALSE(schema().find("on")->published);
  EXPECT_EQ(schema().find("size")->type, "int?");
  EXPECT_EQ(schema().find("folder")->type, "string?");
  EXPECT_EQ(schema().find("nothing"), nullptr);
}

}  // namespace
}  // namespace elit
