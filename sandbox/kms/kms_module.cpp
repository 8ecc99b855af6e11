#include "sandbox/kms/kms_module.hpp"

#include "ecsh/common/crypto.hpp"
#include "sandbox/core/json_members.hpp"
#include "sandbox/core/time_format.hpp"

#include <openssl/evp.h>
#include <boost/json.hpp>

#include <map>

namespace ecsh::sandbox::kms {
namespace {

namespace json = boost::json;
constexpr std::string_view kMagic = "ecshkms1";

std::string context_aad(const std::map<std::string, std::string>& ctx) {
  std::string out;
  for (const auto& [k, v] : ctx) out += k + "=" + v + "\n";
  return out;
}

std::map<std::string, std::string> context_of(const json::object& req) {
  std::map<std::string, std::string> ctx;
  if (auto* c = req.if_contains("EncryptionContext"); c && c->is_object()) {
    for (const auto& [k, v] : c->as_object()) {
      if (v.is_string()) ctx[std::string(k)] = std::string(v.as_string());
    }
  }
  return ctx;
}

std::optional<std::string> gcm(bool encrypt, std::string_view key, std::string_view nonce,
                               std::string_view aad, std::string_view in, std::string* tag) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (!ctx) return std::nullopt;
  std::string out(in.size(), '\0');
  int len = 0;
  bool ok =
      EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr, encrypt ? 1 : 0) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) ==
          1 &&
      EVP_CipherInit_ex(ctx, nullptr, nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                        reinterpret_cast<const unsigned char*>(nonce.data()),
                        encrypt ? 1 : 0) == 1 &&
      EVP_CipherUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                       static_cast<int>(aad.size())) == 1 &&
      EVP_CipherUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                       reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size())) == 1;
  if (ok && !encrypt) {
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag->data()) == 1;
  }
  int fin = 0;
  ok = ok && EVP_CipherFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &fin) == 1;
  if (ok && encrypt) {
    tag->assign(16, '\0');
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag->data()) == 1;
  }
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return std::nullopt;
  return out;
}

struct Key {
  std::string id, region, description, state = "Enabled", master;
  std::chrono::system_clock::time_point created;
};

class Kms final : public KmsModule {
 public:
  std::string name() const override { return "kms"; }
  void attach(const ModuleEnvironment& env) override { clock_ = env.clock; }

  void register_routes(Router& router) override {
    auto add = [&router](std::string op, JsonHandler h) {
      router.add_json("kms", "TrentService", std::move(op), std::move(h));
    };
    add("CreateKey",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          BOOST_OUTCOME_TRY(ctx.authorize("kms:CreateKey", "*"));
          Key k;
          k.id = crypto::uuid4();
          k.region = ctx.region;
          k.description = get(req, "Description");
          k.master = crypto::random_bytes(32);
          k.created = clock_ ? clock_() : std::chrono::system_clock::now();
          keys_[k.id] = k;
          ctx.mutated = true;
          return json::object{{"KeyMetadata", metadata(k)}};
        });
    add("DescribeKey",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          BOOST_OUTCOME_TRY(auto* k, find(get(req, "KeyId"), ctx.region));
          BOOST_OUTCOME_TRY(ctx.authorize("kms:DescribeKey", arn(*k)));
          return json::object{{"KeyMetadata", metadata(*k)}};
        });
    add("GenerateDataKey",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          BOOST_OUTCOME_TRY(auto* k, find(get(req, "KeyId"), ctx.region));
          BOOST_OUTCOME_TRY(ctx.authorize("kms:GenerateDataKey", arn(*k)));
          if (k->state != "Enabled") {
            return ApiError::client("DisabledException", arn(*k) + " is disabled.");
          }
          std::size_t n = 32;
          if (auto* b = req.if_contains("NumberOfBytes"); b && b->is_int64()) {
            if (b->as_int64() < 1 || b->as_int64() > 1024) {
              return ApiError::client(
                  "ValidationException",
                  "1 validation error detected: Value at 'numberOfBytes' failed to "
                  "satisfy constraint: Member must have value less than or equal to 1024");
            }
            n = static_cast<std::size_t>(b->as_int64());
          } else if (get(req, "KeySpec") == "AES_128") {
            n = 16;
          }
          std::string plaintext = crypto::random_bytes(n);
          std::string nonce = crypto::random_bytes(12), tag;
          auto sealed = gcm(true, k->master, nonce, context_aad(context_of(req)), plaintext, &tag);
          if (!sealed) return ApiError::server("KMSInternalException", "encryption failed");
          std::string blob = std::string(kMagic) + k->id + nonce + *sealed + tag;
          return json::object{{"CiphertextBlob", crypto::base64_encode(blob)},
                              {"Plaintext", crypto::base64_encode(plaintext)},
                              {"KeyId", arn(*k)}};
        });
    add("Decrypt", [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
      auto blob = crypto::base64_decode(get(req, "CiphertextBlob"));
      if (!blob) return ApiError::client("InvalidCiphertextException", "");
      const Key* k = key_of_blob(*blob);
      if (!k) return ApiError::client("InvalidCiphertextException", "");
      BOOST_OUTCOME_TRY(ctx.authorize("kms:Decrypt", arn(*k)));
      auto plain = open(*blob, context_of(req));
      if (!plain) return ApiError::client("InvalidCiphertextException", "");
      return json::object{{"KeyId", arn(*k)},
                          {"Plaintext", crypto::base64_encode(*plain)},
                          {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
    });
  }

  std::optional<std::string> decrypt_blob(
      std::string_view blob, const std::map<std::string, std::string>& context) const override {
    return open(blob, context);
  }

  bool key_usable(std::string_view key, std::string_view region) const override {
    auto k = const_cast<Kms*>(this)->find(std::string(key), std::string(region));
    return k && k.value()->state == "Enabled";
  }

  json::value save() const override {
    json::array a;
    for (const auto& [id, k] : keys_) {
      a.push_back(json::object{{"id", k.id},
                               {"region", k.region},
                               {"description", k.description},
                               {"state", k.state},
                               {"master", crypto::base64_encode(k.master)},
                               {"created", iso8601(k.created)}});
    }
    return json::object{{"keys", a}};
  }

  void load(const json::value& v) override {
    keys_.clear();
    if (!v.is_object()) return;
    auto* a = v.as_object().if_contains("keys");
    if (!a || !a->is_array()) return;
    for (const auto& x : a->as_array()) {
      if (!x.is_object()) continue;
      Key k;
      k.id = get(x.as_object(), "id");
      k.region = get(x.as_object(), "region");
      k.description = get(x.as_object(), "description");
      k.state = get(x.as_object(), "state");
      k.master = crypto::base64_decode(get(x.as_object(), "master")).value_or("");
      k.created = parse_iso8601(get(x.as_object(), "created"))
                      .value_or(std::chrono::system_clock::time_point{});
      if (k.master.size() == 32) keys_[k.id] = k;
    }
  }

  // "kms_keys": [{"id": "<uuid>", "region": "us-east-1", "state": "Enabled"}]
  ApiResult<void> apply_scenario(const json::object& scenario) override {
    auto* a = scenario.if_contains("kms_keys");
    if (!a || !a->is_array()) return outcome::success();
    for (const auto& x : a->as_array()) {
      if (!x.is_object()) continue;
      Key k;
      k.id = get(x.as_object(), "id");
      if (k.id.empty()) k.id = crypto::uuid4();
      k.region = get(x.as_object(), "region");
      if (k.region.empty()) k.region = "us-east-1";
      k.state = get(x.as_object(), "state");
      if (k.state.empty()) k.state = "Enabled";
      k.description = get(x.as_object(), "description");
      k.master = crypto::random_bytes(32);
      k.created = clock_ ? clock_() : std::chrono::system_clock::now();
      keys_[k.id] = k;
    }
    return outcome::success();
  }

 private:
  static std::string arn(const Key& k) {
    return "arn:aws:kms:" + k.region + ":000000000000:key/" + k.id;
  }
  json::object metadata(const Key& k) const {
    return json::object{{"AWSAccountId", "000000000000"},
                        {"KeyId", k.id},
                        {"Arn", arn(k)},
                        {"CreationDate", epoch_seconds(k.created)},
                        {"Enabled", k.state == "Enabled"},
                        {"Description", k.description},
                        {"KeyUsage", "ENCRYPT_DECRYPT"},
                        {"KeyState", k.state},
                        {"Origin", "AWS_KMS"},
                        {"KeyManager", "CUSTOMER"},
                        {"CustomerMasterKeySpec", "SYMMETRIC_DEFAULT"},
                        {"KeySpec", "SYMMETRIC_DEFAULT"},
                        {"EncryptionAlgorithms", json::array{"SYMMETRIC_DEFAULT"}},
                        {"MultiRegion", false}};
  }
  ApiResult<Key*> find(const std::string& id, const std::string& region) {
    std::string key = id;
    if (auto pos = key.find(":key/"); pos != std::string::npos) key = key.substr(pos + 5);
    auto it = keys_.find(key);
    if (it == keys_.end() || (!region.empty() && it->second.region != region)) {
      return ApiError::client(
          "NotFoundException",
          "Key '" +
              (id.starts_with("arn:") ? id : "arn:aws:kms:" + region + ":000000000000:key/" + id) +
              "' does not exist");
    }
    return &it->second;
  }
  const Key* key_of_blob(std::string_view blob) const {
    if (blob.size() < kMagic.size() + 36 + 12 + 16 || !blob.starts_with(kMagic)) return nullptr;
    auto it = keys_.find(std::string(blob.substr(kMagic.size(), 36)));
    return it == keys_.end() ? nullptr : &it->second;
  }
  std::optional<std::string> open(std::string_view blob,
                                  const std::map<std::string, std::string>& context) const {
    const Key* k = key_of_blob(blob);
    if (!k) return std::nullopt;
    auto rest = blob.substr(kMagic.size() + 36);
    std::string nonce(rest.substr(0, 12));
    std::string tag(rest.substr(rest.size() - 16));
    std::string sealed(rest.substr(12, rest.size() - 28));
    return gcm(false, k->master, nonce, context_aad(context), sealed, &tag);
  }

  std::map<std::string, Key> keys_;
  std::function<std::chrono::system_clock::time_point()> clock_;
};

}  // namespace

std::unique_ptr<KmsModule> make_kms_module() { return std::make_unique<Kms>(); }

}  // namespace ecsh::sandbox::kms
