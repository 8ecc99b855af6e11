#include "ecsh/aws/xml_reply.hpp"

#include <pugixml.hpp>

namespace ecsh::aws {
namespace {

// The next '/'-separated step of `path`, removed from it.
std::string_view next_step(std::string_view& path) {
  auto slash = path.find('/');
  std::string_view step = path.substr(0, slash);
  path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  return step;
}

// "the DescribeSubnets response" + ": " + "subnetSet/item[1]".
std::string join_where(const std::string& base, std::string_view tail) {
  if (tail.empty()) return base;
  auto colon = base.find(": ");
  return colon == std::string::npos ? base + ": " + std::string(tail)
                                    : base + "/" + std::string(tail);
}

}  // namespace

XmlElement::XmlElement(std::shared_ptr<const pugi::xml_document> doc, pugi::xml_node_struct* node,
                       std::string where)
    : doc_(std::move(doc)), node_(node), where_(std::move(where)) {}

pugi::xml_node_struct* XmlElement::find(std::string_view path, std::string* where) const {
  pugi::xml_node node(node_);
  std::string walked;
  while (!path.empty()) {
    std::string step(next_step(path));
    node = node.child(step.c_str());
    if (!walked.empty()) walked += '/';
    walked += step;
    if (!node) return nullptr;
  }
  if (where) *where = join_where(where_, walked);
  return node.internal_object();
}

Error XmlElement::missing(std::string_view path) const {
  return Error::protocol(join_where(where_, path) + " is missing");
}

Result<std::string> XmlElement::text(std::string_view path) const {
  auto* node = find(path, nullptr);
  if (!node) return missing(path);
  return std::string(pugi::xml_node(node).text().get());
}

std::string XmlElement::text_or(std::string_view path, std::string_view fallback) const {
  auto* node = find(path, nullptr);
  return node ? std::string(pugi::xml_node(node).text().get()) : std::string(fallback);
}

Result<XmlElement> XmlElement::element(std::string_view path) const {
  std::string where;
  auto* node = find(path, &where);
  if (!node) return missing(path);
  return XmlElement(doc_, node, std::move(where));
}

std::optional<XmlElement> XmlElement::optional_element(std::string_view path) const {
  std::string where;
  auto* node = find(path, &where);
  if (!node) return std::nullopt;
  return XmlElement(doc_, node, std::move(where));
}

std::vector<XmlElement> XmlElement::elements(std::string_view path) const {
  auto slash = path.rfind('/');
  std::string_view parent_path = slash == std::string_view::npos ? "" : path.substr(0, slash);
  std::string name(slash == std::string_view::npos ? path : path.substr(slash + 1));
  std::vector<XmlElement> out;
  std::string parent_where;
  auto* parent = find(parent_path, &parent_where);
  if (!parent) return out;
  std::size_t index = 0;
  for (auto child : pugi::xml_node(parent).children(name.c_str())) {
    out.push_back(XmlElement(doc_, child.internal_object(),
                             join_where(parent_where, name + "[" + std::to_string(++index) + "]")));
  }
  return out;
}

Result<std::vector<XmlElement>> XmlElement::list(std::string_view path) const {
  auto slash = path.rfind('/');
  if (slash != std::string_view::npos && !find(path.substr(0, slash), nullptr)) {
    return missing(path.substr(0, slash));
  }
  return elements(path);
}

Result<XmlElement> XmlReply::parse(std::string_view operation, std::string_view body) {
  const std::string what = "the " + std::string(operation) + " response";
  auto doc = std::make_shared<pugi::xml_document>();
  auto parsed = doc->load_buffer(body.data(), body.size());
  if (!parsed) {
    return Error::protocol(what + " is not valid XML (" + parsed.description() + " at byte " +
                           std::to_string(parsed.offset) + ")");
  }
  auto root = doc->document_element();
  if (!root) return Error::protocol(what + " has no XML element");
  // Query and EC2 replies wrap their result in <OperationResponse>.
  const std::string expected = std::string(operation) + "Response";
  if (expected != root.name()) {
    return Error::protocol(what + " is a <" + root.name() + ">, not a <" + expected + ">");
  }
  return XmlElement(std::move(doc), root.internal_object(), what);
}

}  // namespace ecsh::aws
