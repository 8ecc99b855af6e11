// A profile's credential_process, run as botocore runs it: its command line split by Python's
// shlex rules and executed without a shell, its stderr in the error when it fails.

#include "ecsh/aws/credentials.hpp"
#include "ecsh/aws/http_client.hpp"
#include "ecsh/aws/settings.hpp"
#include "ecsh/common/clock.hpp"
#include "unit/fake_aws.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace ecsh;
using namespace ecsh::aws;
namespace fs = std::filesystem;

namespace {

class NoHttp final : public HttpClient {
 public:
  Awaitable<Result<HttpResponse>> send(HttpRequest) override {
    co_return Error::connection("no network in this test");
  }
};

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A scratch directory with helper scripts; removed at the end.
struct Scratch {
  fs::path dir;
  Scratch() {
    dir = fs::temp_directory_path() / ("ecsh-credproc-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() { fs::remove_all(dir); }
  std::string script(const std::string& name, const std::string& body) {
    auto p = dir / name;
    std::ofstream(p) << "#!/bin/sh\n" << body;
    ::chmod(p.c_str(), 0755);
    return p.string();
  }
};

Result<Credentials> credentials_of(const std::string& credential_process) {
  AwsSettings s;
  s.profile = "proc";
  s.profile_explicit = s.profile_from_flag = true;
  s.profile_values.name = "proc";
  s.profile_values.values["credential_process"] = credential_process;
  s.profile_values.origin["credential_process"] = "the test's config";
  Environment env;
  env.vars["AWS_EC2_METADATA_DISABLED"] = "true";
  NoHttp http;
  FixedClock clock{std::chrono::system_clock::from_time_t(1764000000)};
  auto chain = make_default_credentials_chain(s, env, http, clock);
  return fake::run(chain->credentials());
}

constexpr const char* kCredentials =
    R"({"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "process-secret"})";

}  // namespace

TEST(CredentialProcess, ItsOutputGivesTheCredentials) {
  Scratch s;
  auto helper = s.script("ok", std::string("printf '%s' '") + kCredentials + "'\n");
  auto c = credentials_of(helper);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c.value().access_key_id, "AKIDPROCESS");
  EXPECT_EQ(c.value().secret_access_key, "process-secret");
}

TEST(CredentialProcess, AFailureCarriesItsStderrAndStatus) {
  Scratch s;
  auto helper = s.script("fails", "echo 'no credentials for you: token expired' >&2\nexit 1\n");
  auto c = credentials_of(helper + " --profile x");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, ErrorKind::config);
  EXPECT_EQ(exit_code_for(c.error()), 253);
  EXPECT_EQ(c.error().message,
            "credential_process of profile proc (the test's config): it exited with status 1: "
            "no credentials for you: token expired");
}

TEST(CredentialProcess, ItsStderrInTheErrorIsBoundedToItsEnd) {
  Scratch s;
  auto helper = s.script("noisy",
                         "head -c 1000000 /dev/zero | tr '\\0' x >&2\n"
                         "echo >&2\necho 'the real reason' >&2\nexit 2\n");
  auto c = credentials_of(helper);
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().message.ends_with("the real reason")) << c.error().message.substr(0, 200);
  EXPECT_LT(c.error().message.size(), 4096u + 200u);
  EXPECT_NE(c.error().message.find("exited with status 2: …"), std::string::npos);
}

TEST(CredentialProcess, QuotedArgumentsArriveAsOneArgvEntryEach) {
  Scratch s;
  auto args = s.dir / "argv";
  auto helper = s.script("args", "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > '" +
                                     args.string() + "'\nprintf '%s' '" + kCredentials + "'\n");
  auto c = credentials_of(helper + R"( "two words" 'single quoted' plain back\ slash "a\"b")");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(read(args), "two words\nsingle quoted\nplain\nback slash\na\"b\n");
}

TEST(CredentialProcess, ShellMetacharactersAreNotInterpreted) {
  Scratch s;
  auto args = s.dir / "argv";
  auto marker = s.dir / "marker";
  auto helper = s.script("meta", "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > '" +
                                     args.string() + "'\nprintf '%s' '" + kCredentials + "'\n");
  ::setenv("ECSH_CREDPROC_TEST", "expanded", 1);
  auto c = credentials_of(helper + " ; touch " + marker.string() + " && touch " + marker.string() +
                          " | cat > " + marker.string() + " $ECSH_CREDPROC_TEST '$(touch " +
                          marker.string() + ")' `id` *");
  ::unsetenv("ECSH_CREDPROC_TEST");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(fs::exists(marker));
  const std::string m = marker.string();
  EXPECT_EQ(read(args), ";\ntouch\n" + m + "\n&&\ntouch\n" + m + "\n|\ncat\n>\n" + m +
                            "\n$ECSH_CREDPROC_TEST\n$(touch " + m + ")\n`id`\n*\n");
}

TEST(CredentialProcess, AProgramThatCannotRunAndABadCommandLineAreConfigErrors) {
  auto missing = credentials_of("ecsh-no-such-credential-helper --flag");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::config);
  EXPECT_NE(missing.error().message.find("cannot run ecsh-no-such-credential-helper: No such file"),
            std::string::npos)
      << missing.error().message;
  auto unclosed = credentials_of("helper 'unclosed");
  ASSERT_FALSE(unclosed);
  EXPECT_EQ(unclosed.error().kind, ErrorKind::config);
  EXPECT_NE(unclosed.error().message.find("never closed"), std::string::npos);
}

TEST(CredentialProcess, MalformedOutputIsAConfigErrorNamingTheField) {
  Scratch s;
  auto helper = s.script(
      "typed", "printf '%s' '{\"Version\": 1, \"AccessKeyId\": 12, \"SecretAccessKey\": \"s\"}'\n");
  auto c = credentials_of(helper);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, ErrorKind::config);
  EXPECT_NE(c.error().message.find("the response: AccessKeyId is an integer, not a string"),
            std::string::npos)
      << c.error().message;
  auto no_version = s.script("noversion", "printf '%s' '{\"Version\": \"1\"}'\n");
  auto v = credentials_of(no_version);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("must have \"Version\": 1"), std::string::npos);
}
