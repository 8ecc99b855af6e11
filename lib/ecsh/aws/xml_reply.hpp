#pragma once

// The XML boundary: every Query (IAM, STS) and EC2 reply is read through XmlReply, as JSON
// replies are read through JsonFields. A body that is not XML, or that lacks an element AWS
// always sends, is a protocol error naming the operation and the element ("the DescribeSubnets
// response: subnetSet/item[1]/vpcId is missing"), never an empty string that later code would
// take for "none". Paths are element names below the reply's document element, separated by '/'
// (no XPath). pugixml stays out of this header.

#include "ecsh/common/error.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pugi {
class xml_document;
struct xml_node_struct;
}  // namespace pugi

namespace ecsh::aws {

// One element of a parsed reply; it keeps the document alive.
class XmlElement {
 public:
  // Where it is: "the DescribeSubnets response: subnetSet/item[1]".
  const std::string& where() const { return where_; }

  // Required: the text of the element at `path`; absent is a protocol error naming it.
  Result<std::string> text(std::string_view path) const;
  // The text, or `fallback` when the element is absent.
  std::string text_or(std::string_view path, std::string_view fallback = {}) const;
  // Required: the element at `path`.
  Result<XmlElement> element(std::string_view path) const;
  std::optional<XmlElement> optional_element(std::string_view path) const;
  // Every element named by the last step of `path` under the element named by the steps before
  // it ("vpcEndpointSet/item"); empty when there is none.
  std::vector<XmlElement> elements(std::string_view path) const;
  // Required list: like elements(), but the list's own element ("vpcEndpointSet", which EC2
  // sends empty when the list is) must be there.
  Result<std::vector<XmlElement>> list(std::string_view path) const;

 private:
  friend class XmlReply;
  XmlElement(std::shared_ptr<const pugi::xml_document> doc, pugi::xml_node_struct* node,
             std::string where);
  // The element at `path` below this one, and its place for messages; nullptr when absent.
  pugi::xml_node_struct* find(std::string_view path, std::string* where) const;
  Error missing(std::string_view path) const;

  std::shared_ptr<const pugi::xml_document> doc_;
  pugi::xml_node_struct* node_ = nullptr;
  std::string where_;
};

class XmlReply {
 public:
  // Parses the reply of `operation` ("DescribeSubnets"), whose document element must be
  // <DescribeSubnetsResponse>. Anything else is a protocol error: "the DescribeSubnets response
  // is not valid XML (…)", "… is a <html>, not a <DescribeSubnetsResponse>".
  static Result<XmlElement> parse(std::string_view operation, std::string_view body);
};

}  // namespace ecsh::aws
