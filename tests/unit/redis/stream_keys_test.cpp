#include "redis/stream_keys.hpp"

#include <gtest/gtest.h>

using namespace peercable::redis;

TEST(StreamKeys, KeysOfAStreamNeverNameAnother) {
  EXPECT_EQ(stream_namespace(""), "peercable:stream:");
  EXPECT_EQ(stream_namespace("app"), "app:peercable:stream:");
  auto k = stream_keys("app:peercable:stream:", "p2p:m:lobby");
  EXPECT_EQ(k.meta, "app:peercable:stream:m:p2p:m:lobby");
  EXPECT_EQ(k.log, "app:peercable:stream:l:p2p:m:lobby");
  EXPECT_EQ(k.raw, "app:peercable:stream:r:p2p:m:lobby");
  EXPECT_EQ(k.lease, "app:peercable:stream:s:p2p:m:lobby");
  EXPECT_NE(stream_keys("n:", "index").meta, stream_index_key("n:"));
}

TEST(StreamKeys, DecodesAnEnvelope) {
  auto p = decode_envelope("ab12\n42\n{\"n\":1}\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->epoch, "ab12");
  EXPECT_EQ(p->offset, 42u);
  EXPECT_EQ(p->payload, "{\"n\":1}\n");
  EXPECT_EQ(p->kind, Envelope::Kind::kTwinned);
  EXPECT_EQ(decode_envelope("e\n1\n")->payload, "");
}

TEST(StreamKeys, DecodesARailsBroadcastsPositionAndAWhisper) {
  auto r = decode_envelope("~r\nab12\n7\n{\"n\":1}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, Envelope::Kind::kRails);
  EXPECT_EQ(r->epoch, "ab12");
  EXPECT_EQ(r->offset, 7u);
  EXPECT_EQ(r->payload, "{\"n\":1}");
  std::string w = encode_whisper("node-1", "{\"typing\":true}\n");
  auto d = decode_envelope(w);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, Envelope::Kind::kWhisper);
  EXPECT_EQ(d->node, "node-1");
  EXPECT_EQ(d->payload, "{\"typing\":true}\n");
  // A digit-only node name is still a whisper, never read as an epoch and offset.
  EXPECT_EQ(decode_envelope(encode_whisper("12", "3\nx"))->kind, Envelope::Kind::kWhisper);
}

TEST(StreamKeys, RefusesWhatIsNotAnEnvelope) {
  for (const char* bad :
       {"", "{\"n\":1}", "e\n1", "\n1\nx", "e\n\nx", "e\n0\nx", "e\n-1\nx", "e\n1a\nx", "e\n99999999999999999999999\nx",
        "~r\ne\n0\nx", "~r\n1\nx", "~w\n\nx", "~w\nnode", "~x\ne\n1\nx"})
    EXPECT_FALSE(decode_envelope(bad)) << bad;
}

TEST(StreamKeys, OffsetsUpToTheLargest64BitNumber) {
  auto p = decode_envelope("e\n18446744073709551615\nx");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->offset, 18446744073709551615u);
  EXPECT_FALSE(decode_envelope("e\n18446744073709551616\nx"));  // one more does not fit: refused, not wrapped
}
