#include "ecsh/docker/stream_demux.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace ecsh::docker {
namespace {

struct Collected {
  std::string out;
  std::string err;
  std::string system;
  std::vector<StreamSegment> segments;
};

void collect(Collected& c, const std::vector<StreamSegment>& segs) {
  for (const auto& s : segs) {
    switch (s.stream) {
      case StdStream::stdin_stream:
      case StdStream::stdout_stream:
        c.out += s.data;
        break;
      case StdStream::stderr_stream:
        c.err += s.data;
        break;
      case StdStream::system_error:
        c.system += s.data;
        break;
    }
    // Merge as a reader would, to compare the order of streams.
    if (!c.segments.empty() && c.segments.back().stream == s.stream) {
      c.segments.back().data += s.data;
    } else {
      c.segments.push_back(s);
    }
  }
}

StreamSegment seg(StdStream s, std::string data) {
  StreamSegment g;
  g.stream = s;
  g.data = std::move(data);
  return g;
}

std::string sample_stream() {
  return encode_frame(StdStream::stdout_stream, "out one\n") +
         encode_frame(StdStream::stderr_stream, "err one\n") +
         encode_frame(StdStream::stdout_stream, "") +
         encode_frame(StdStream::stdout_stream, std::string("bin\0\xff\x01", 6)) +
         encode_frame(StdStream::stderr_stream, "err two") +
         encode_frame(StdStream::stdout_stream, "last");
}

TEST(StreamDemuxer, EncodesTheEngineHeader) {
  const std::string f = encode_frame(StdStream::stderr_stream, std::string(0x010203, 'x'));
  ASSERT_EQ(f.size(), 8u + 0x010203);
  EXPECT_EQ(f.substr(0, 8), std::string("\x02\x00\x00\x00\x00\x01\x02\x03", 8));
}

TEST(StreamDemuxer, WholeStreamInOneFeed) {
  StreamDemuxer d;
  auto r = d.feed(sample_stream());
  ASSERT_TRUE(r);
  const std::vector<StreamSegment> want = {
      seg(StdStream::stdout_stream, "out one\n"), seg(StdStream::stderr_stream, "err one\n"),
      seg(StdStream::stdout_stream, std::string("bin\0\xff\x01", 6)),
      seg(StdStream::stderr_stream, "err two"), seg(StdStream::stdout_stream, "last")};
  EXPECT_EQ(r.value(), want);
  EXPECT_TRUE(d.at_frame_boundary());
}

TEST(StreamDemuxer, AdjacentFramesOfOneStreamAreMerged) {
  StreamDemuxer d;
  auto r = d.feed(encode_frame(StdStream::stdout_stream, "a") +
                  encode_frame(StdStream::stdout_stream, "b") +
                  encode_frame(StdStream::stderr_stream, "c"));
  ASSERT_TRUE(r);
  const std::vector<StreamSegment> want = {seg(StdStream::stdout_stream, "ab"),
                                           seg(StdStream::stderr_stream, "c")};
  EXPECT_EQ(r.value(), want);
}

TEST(StreamDemuxer, SplitAtEveryByteBoundary) {
  const std::string all = sample_stream();
  Collected whole;
  {
    StreamDemuxer d;
    collect(whole, d.feed(all).value());
  }
  for (std::size_t cut = 0; cut <= all.size(); ++cut) {
    for (std::size_t cut2 = cut; cut2 <= all.size(); ++cut2) {
      StreamDemuxer d;
      Collected c;
      for (auto part :
           {std::string_view(all).substr(0, cut), std::string_view(all).substr(cut, cut2 - cut),
            std::string_view(all).substr(cut2)}) {
        auto r = d.feed(part);
        ASSERT_TRUE(r) << cut << "/" << cut2;
        collect(c, r.value());
      }
      ASSERT_EQ(c.out, whole.out) << cut << "/" << cut2;
      ASSERT_EQ(c.err, whole.err) << cut << "/" << cut2;
      ASSERT_EQ(c.segments, whole.segments) << cut << "/" << cut2;
      ASSERT_TRUE(d.at_frame_boundary());
    }
  }
}

TEST(StreamDemuxer, OneByteAtATime) {
  const std::string all = sample_stream();
  StreamDemuxer d;
  Collected c;
  for (std::size_t i = 0; i < all.size(); ++i) {
    auto r = d.feed(std::string_view(all).substr(i, 1));
    ASSERT_TRUE(r);
    collect(c, r.value());
  }
  EXPECT_EQ(c.out, "out one\n" + std::string("bin\0\xff\x01", 6) + "last");
  EXPECT_EQ(c.err, "err one\nerr two");
}

TEST(StreamDemuxer, InterleavedStdoutAndStderrKeepTheirOrder) {
  std::string all;
  std::vector<StreamSegment> want;
  for (int i = 0; i < 200; ++i) {
    StdStream s = i % 3 == 0 ? StdStream::stderr_stream : StdStream::stdout_stream;
    std::string payload = "line " + std::to_string(i) + "\n";
    all += encode_frame(s, payload);
    if (!want.empty() && want.back().stream == s) {
      want.back().data += payload;
    } else {
      want.push_back(seg(s, payload));
    }
  }
  std::mt19937 rng(7);
  StreamDemuxer d;
  Collected c;
  std::size_t pos = 0;
  while (pos < all.size()) {
    std::size_t n = std::min<std::size_t>(all.size() - pos, 1 + rng() % 23);
    collect(c, d.feed(std::string_view(all).substr(pos, n)).value());
    pos += n;
  }
  EXPECT_EQ(c.segments, want);
}

TEST(StreamDemuxer, LargeFramesArePassedOnAsTheyArrive) {
  std::string payload(5 * 1024 * 1024 + 3, '\0');
  std::mt19937 rng(1);
  for (auto& ch : payload) ch = static_cast<char>(rng());
  const std::string all = encode_frame(StdStream::stdout_stream, payload) +
                          encode_frame(StdStream::stderr_stream, "tail");
  StreamDemuxer d;
  std::string out, err;
  std::size_t pos = 0;
  std::size_t chunk = 64 * 1024 + 1;
  while (pos < all.size()) {
    std::size_t n = std::min(chunk, all.size() - pos);
    auto r = d.feed(std::string_view(all).substr(pos, n));
    ASSERT_TRUE(r);
    std::size_t produced = 0;
    for (const auto& s : r.value()) {
      (s.stream == StdStream::stdout_stream ? out : err) += s.data;
      produced += s.data.size();
    }
    // Nothing is held back beyond a header: each chunk's payload comes out at once.
    EXPECT_GE(produced + 8, n);
    pos += n;
  }
  EXPECT_EQ(out.size(), payload.size());
  EXPECT_TRUE(out == payload);
  EXPECT_EQ(err, "tail");
  EXPECT_TRUE(d.at_frame_boundary());
}

TEST(StreamDemuxer, MaximumLengthHeaderIsAccepted) {
  StreamDemuxer d;
  auto r =
      d.feed(std::string("\x01\x00\x00\x00\xff\xff\xff\xff"
                         "abc",
                         11));
  ASSERT_TRUE(r);
  ASSERT_EQ(r.value().size(), 1u);
  EXPECT_EQ(r.value()[0].data, "abc");
  EXPECT_FALSE(d.at_frame_boundary());
}

TEST(StreamDemuxer, StdinAndSystemErrorFramesAreKept) {
  StreamDemuxer d;
  auto r = d.feed(encode_frame(StdStream::stdin_stream, "in") +
                  encode_frame(StdStream::system_error, "oci runtime failed"));
  ASSERT_TRUE(r);
  const std::vector<StreamSegment> want = {seg(StdStream::stdin_stream, "in"),
                                           seg(StdStream::system_error, "oci runtime failed")};
  EXPECT_EQ(r.value(), want);
}

TEST(StreamDemuxer, PaddingBytesAreIgnoredAsDockerDoes) {
  StreamDemuxer d;
  auto r =
      d.feed(std::string("\x02\x01\x02\x03\x00\x00\x00\x02"
                         "hi",
                         10));
  ASSERT_TRUE(r);
  ASSERT_EQ(r.value().size(), 1u);
  EXPECT_EQ(r.value()[0], seg(StdStream::stderr_stream, "hi"));
}

TEST(StreamDemuxer, UnknownStreamTypeIsAProtocolErrorAndStaysOne) {
  StreamDemuxer d;
  auto r = d.feed(std::string("\x07\x00\x00\x00\x00\x00\x00\x01x", 9));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::protocol);
  EXPECT_NE(r.error().message.find("unknown stream type 7"), std::string::npos);
  auto again = d.feed(encode_frame(StdStream::stdout_stream, "ok"));
  EXPECT_FALSE(again);
}

TEST(StreamDemuxer, TruncatedStreamIsNotAtABoundary) {
  StreamDemuxer d;
  const std::string f = encode_frame(StdStream::stdout_stream, "hello");
  ASSERT_TRUE(d.feed(std::string_view(f).substr(0, 3)));
  EXPECT_FALSE(d.at_frame_boundary());
  ASSERT_TRUE(d.feed(std::string_view(f).substr(3, 7)));
  EXPECT_FALSE(d.at_frame_boundary());
  ASSERT_TRUE(d.feed(std::string_view(f).substr(10)));
  EXPECT_TRUE(d.at_frame_boundary());
}

}  // namespace
}  // namespace ecsh::docker
