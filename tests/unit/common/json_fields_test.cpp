#include "ecsh/common/json_fields.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

using namespace ecsh;
namespace json = boost::json;

namespace {

json::object doc(const char* text) { return json::parse(text).as_object(); }

// The error of a failed result: a protocol error (exit 255) with exactly this message.
template <class T>
std::string protocol_error(const Result<T>& r) {
  if (r) return "(no error)";
  EXPECT_EQ(r.error().kind, ErrorKind::protocol);
  EXPECT_EQ(exit_code_for(r.error()), 255);
  return r.error().message;
}

}  // namespace

TEST(JsonFields, PresentFieldsOfTheRightTypeAreRead) {
  auto o = doc(R"({"s": "text", "i": 42, "u": 18446744073709551615, "d": 1.5, "whole": 3.0,
                   "b": true, "o": {"x": "y"}, "a": [1, 2], "ss": ["p", "q"],
                   "m": {"k": "v", "l": "w"}})");
  JsonFields f(o, "the Test response");
  EXPECT_EQ(f.string("s").value(), "text");
  EXPECT_EQ(f.integer("i").value(), 42);
  EXPECT_EQ(f.integer("whole").value(), 3);  // an integral double is an integer
  EXPECT_EQ(f.optional_number("d").value(), 1.5);
  EXPECT_EQ(f.optional_number("i").value(), 42.0);
  EXPECT_TRUE(f.boolean("b").value());
  EXPECT_EQ(f.object("o").value().string("x").value(), "y");
  EXPECT_EQ(f.optional_array("a").value()->size(), 2u);
  EXPECT_EQ(f.strings("ss").value(), (std::vector<std::string>{"p", "q"}));
  auto m = f.string_map("m").value();
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m["k"], "v");
  EXPECT_TRUE(f.has("s"));
  EXPECT_EQ(&f.raw(), &o);
}

TEST(JsonFields, AbsentAndNullOptionalFieldsAreNothingOrTheFallback) {
  auto o = doc(R"({"n": null})");
  JsonFields f(o, "the Test response");
  for (const char* key : {"absent", "n"}) {
    EXPECT_FALSE(f.has(key));
    EXPECT_EQ(f.optional_string(key).value(), std::nullopt);
    EXPECT_EQ(f.optional_int(key).value(), std::nullopt);
    EXPECT_EQ(f.optional_number(key).value(), std::nullopt);
    EXPECT_EQ(f.optional_bool(key).value(), std::nullopt);
    EXPECT_FALSE(f.optional_object(key).value().has_value());
    EXPECT_EQ(f.optional_array(key).value(), nullptr);
    EXPECT_EQ(f.string_or(key).value(), "");
    EXPECT_EQ(f.string_or(key, "fallback").value(), "fallback");
    EXPECT_EQ(f.int_or(key, 7).value(), 7);
    EXPECT_TRUE(f.bool_or(key, true).value());
    EXPECT_TRUE(f.objects(key).value().empty());
    EXPECT_TRUE(f.strings(key).value().empty());
    EXPECT_TRUE(f.string_map(key).value().empty());
  }
}

TEST(JsonFields, AbsentRequiredFieldsAreProtocolErrorsNamingTheField) {
  auto o = doc(R"({"n": null})");
  JsonFields f(o, "the Test response");
  EXPECT_EQ(protocol_error(f.string("taskArn")), "the Test response: taskArn is missing");
  EXPECT_EQ(protocol_error(f.integer("n")), "the Test response: n is missing");
  EXPECT_EQ(protocol_error(f.boolean("b")), "the Test response: b is missing");
  EXPECT_EQ(protocol_error(f.object("o")), "the Test response: o is missing");
}

TEST(JsonFields, WrongTypesAreProtocolErrorsNamingTheFieldAndBothTypes) {
  auto o = doc(R"({"s": 1, "i": "1", "f": 1.5, "big": 1e300, "b": "true", "o": [], "a": {},
                   "m": {"k": 5}})");
  JsonFields f(o, "the Test response");
  EXPECT_EQ(protocol_error(f.string("s")), "the Test response: s is an integer, not a string");
  EXPECT_EQ(protocol_error(f.string_or("s")), "the Test response: s is an integer, not a string");
  EXPECT_EQ(protocol_error(f.optional_int("i")),
            "the Test response: i is a string, not an integer");
  EXPECT_EQ(protocol_error(f.int_or("f", 0)), "the Test response: f is not an integer in range");
  EXPECT_EQ(protocol_error(f.integer("big")), "the Test response: big is not an integer in range");
  EXPECT_EQ(f.optional_number("s").value(), 1.0);  // an integer is a number
}

TEST(JsonFields, WrongTypesOfEveryGetter) {
  auto o = doc(R"({"s": "x", "i": 1, "b": false, "o": {}, "a": [], "n": 2.5})");
  JsonFields f(o, "the Test response");
  EXPECT_EQ(protocol_error(f.optional_number("s")),
            "the Test response: s is a string, not a number");
  EXPECT_EQ(protocol_error(f.bool_or("s", false)),
            "the Test response: s is a string, not a boolean");
  EXPECT_EQ(protocol_error(f.object("a")), "the Test response: a is an array, not an object");
  EXPECT_EQ(protocol_error(f.optional_array("o")),
            "the Test response: o is an object, not an array");
  EXPECT_EQ(protocol_error(f.objects("b")), "the Test response: b is a boolean, not an array");
  EXPECT_EQ(protocol_error(f.strings("n")), "the Test response: n is a number, not an array");
  EXPECT_EQ(protocol_error(f.string_map("a")), "the Test response: a is an array, not an object");
}

TEST(JsonFields, ErrorsDeepInsideNameThePathFromTheDocument) {
  auto o = doc(R"({"tasks": [{"containers": [{"name": "a"}]},
                             {"containers": [{"name": "b"}, {"name": "c", "exitCode": "1"}]}],
                   "m": {"ok": "v", "bad": false}, "ss": ["a", 2], "os": [{}, 3]})");
  JsonFields f(o, "the DescribeTasks response");
  auto tasks = f.objects("tasks").value();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[1].where(), "the DescribeTasks response: tasks[1]");
  auto containers = tasks[1].objects("containers").value();
  EXPECT_EQ(containers[0].string("name").value(), "b");
  EXPECT_EQ(protocol_error(containers[1].optional_int("exitCode")),
            "the DescribeTasks response: tasks[1].containers[1].exitCode is a string, not an "
            "integer");
  EXPECT_EQ(protocol_error(f.string_map("m")),
            "the DescribeTasks response: m.bad is a boolean, not a string");
  EXPECT_EQ(protocol_error(f.strings("ss")),
            "the DescribeTasks response: ss[1] is an integer, not a string");
  EXPECT_EQ(protocol_error(f.objects("os")),
            "the DescribeTasks response: os[1] is an integer, not an object");
  auto inner = f.object("m").value();
  EXPECT_EQ(inner.where("ok"), "the DescribeTasks response: m.ok");
}

TEST(JsonFields, OfAndParseCheckTheKindOfTheDocument) {
  json::value arr = json::parse("[1]");
  EXPECT_EQ(protocol_error(JsonFields::of(arr, "the ListTasks response")),
            "the ListTasks response is an array, not an object");
  json::value obj = json::parse(R"({"a": "b"})");
  EXPECT_EQ(JsonFields::of(obj, "x").value().string("a").value(), "b");

  EXPECT_EQ(parse_json_object(R"({"a": 1})", "the X response").value().size(), 1u);
  EXPECT_EQ(protocol_error(parse_json_object("[]", "the X response")),
            "the X response is an array, not a JSON object");
  EXPECT_EQ(protocol_error(parse_json_object("\"s\"", "the X response")),
            "the X response is a string, not a JSON object");
  auto bad = parse_json_object("{\"a\": ", "the X response");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::protocol);
  EXPECT_TRUE(bad.error().message.starts_with("the X response is not valid JSON: "))
      << bad.error().message;
}

TEST(JsonFields, ArraysOfObjectsAndStringsOnTheirOwn) {
  json::array a = json::parse(R"(["x", "y"])").as_array();
  EXPECT_EQ(json_strings(a, "the L response: arns").value().size(), 2u);
  EXPECT_EQ(protocol_error(json_objects(a, "the L response: arns")),
            "the L response: arns[0] is a string, not an object");
  json::array b = json::parse(R"([{"k": 1}, null])").as_array();
  EXPECT_EQ(protocol_error(json_strings(b, "the L response: arns")),
            "the L response: arns[0] is an object, not a string");
  EXPECT_EQ(protocol_error(json_objects(b, "the L response: items")),
            "the L response: items[1] is null, not an object");
}

TEST(JsonFields, KindNames) {
  EXPECT_EQ(json_kind_name(json::value(nullptr)), "null");
  EXPECT_EQ(json_kind_name(json::value(1.5)), "a number");
  EXPECT_EQ(json_kind_name(json::value(std::uint64_t{1})), "an integer");
  EXPECT_EQ(json_kind_name(json::value(true)), "a boolean");
}

TEST(JsonDocument, TheSchemaComesFirstAndEveryFieldStaysInItsOrder) {
  auto doc = with_schema("ecsh.why.task/1",
                         json::object{{"culprit", "app"}, {"exit_code", 1}, {"schema", "old"}});
  EXPECT_EQ(json::serialize(doc), R"({"schema":"ecsh.why.task/1","culprit":"app","exit_code":1})")
      << "the schema given wins over a field of that name";
  auto plain = with_schema("ecsh.run/1", json::object{{"tasks", json::array{}}, {"count", 3}});
  EXPECT_EQ(json::serialize(plain), R"({"schema":"ecsh.run/1","tasks":[],"count":3})");
}
