// Checks of the load generator's pure parts: frame codec, handshake, JSON scanning, Action Cable frames,
// and its command line. A bench tool should not misread what it measures, nor what it is asked to do;
// these run under ctest with the project's tests.
#include <zlib.h>

#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include "../src/cable_message.hpp"
#include "../src/frame_codec.hpp"
#include "../src/handshake.hpp"
#include "../src/hold_command.hpp"
#include "../src/inflate.hpp"
#include "../src/json_scan.hpp"
#include "../src/options.hpp"

namespace {

int failures = 0;

void check(bool ok, const char* what, int line) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAILED line %d: %s\n", line, what);
  }
}
#define CHECK(x) check((x), #x, __LINE__)

using namespace loadgen;

std::string server_frame(std::uint8_t b0, const std::string& payload) {
  std::string f(1, static_cast<char>(b0));
  if (payload.size() < 126) {
    f += static_cast<char>(payload.size());
  } else {
    f += static_cast<char>(126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xFF);
  }
  return f + payload;
}

void frame_codec_tests() {
  const std::string text = server_frame(0x81, R"({"type":"welcome"})");
  ParsedFrame f = parse_server_frame(text, 1 << 20);
  CHECK(f.status == ParseStatus::complete && f.fin && f.opcode == Opcode::text);
  CHECK(f.payload == R"({"type":"welcome"})" && f.consumed == text.size());
  CHECK(parse_server_frame(text.substr(0, 5), 1 << 20).status == ParseStatus::need_more);

  const std::string big = server_frame(0x82, std::string(300, 'a'));
  f = parse_server_frame(big, 1 << 20);
  CHECK(f.status == ParseStatus::complete && f.payload.size() == 300 && f.consumed == 304);
  CHECK(parse_server_frame(big, 100).status == ParseStatus::protocol_error);

  std::string masked = text;
  masked[1] = static_cast<char>(masked[1] | 0x80);
  CHECK(parse_server_frame(masked, 1 << 20).status == ParseStatus::protocol_error);
  CHECK(parse_server_frame(server_frame(0xC1, "x"), 1 << 20).status == ParseStatus::protocol_error);  // RSV1
  // With permessage-deflate: RSV1 marks the first frame of a compressed message, never a control frame.
  f = parse_server_frame(server_frame(0xC1, "x"), 1 << 20, true);
  CHECK(f.status == ParseStatus::complete && f.compressed);
  CHECK(!parse_server_frame(text, 1 << 20, true).compressed);
  CHECK(parse_server_frame(server_frame(0xC9, "x"), 1 << 20, true).status == ParseStatus::protocol_error);  // ping
  CHECK(parse_server_frame(server_frame(0xC0, "x"), 1 << 20, true).status == ParseStatus::protocol_error);  // cont.
  CHECK(parse_server_frame(server_frame(0xA1, "x"), 1 << 20, true).status == ParseStatus::protocol_error);  // RSV2
  CHECK(parse_server_frame(server_frame(0x09, "x"), 1 << 20).status == ParseStatus::protocol_error);  // fragmented ping
  CHECK(parse_server_frame(server_frame(0x83, "x"), 1 << 20).status == ParseStatus::protocol_error);  // opcode 3

  // Client frames: masked, and unmasking gives the payload back (RFC 6455 §5.3).
  for (std::size_t len : {0u, 5u, 125u, 126u, 65535u, 65536u}) {
    const std::string payload(len, 'q');
    std::string out;
    append_client_frame(out, Opcode::text, payload, 0x37FA213D);
    const auto b1 = static_cast<std::uint8_t>(out[1]);
    CHECK((b1 & 0x80) != 0);
    const std::size_t header = len < 126 ? 2 : len <= 0xFFFF ? 4 : 10;
    CHECK(out.size() == header + 4 + len);
    const auto* key = reinterpret_cast<const unsigned char*>(out.data() + header);
    bool same = true;
    for (std::size_t i = 0; i < len; ++i)
      same = same && static_cast<char>(static_cast<unsigned char>(out[header + 4 + i]) ^ key[i & 3]) == payload[i];
    CHECK(same);
  }
}

void handshake_tests() {
  // The example of RFC 6455 §1.3.
  CHECK(accept_for_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const UpgradeRequest req = make_upgrade_request("127.0.0.1:9", "/cable?token=t");
  CHECK(req.bytes.rfind("GET /cable?token=t HTTP/1.1\r\n", 0) == 0);
  CHECK(req.bytes.find("Sec-WebSocket-Protocol: actioncable-v1-json, actioncable-unsupported\r\n") !=
        std::string::npos);

  const std::string ok =
      "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      req.expected_accept + "\r\nsec-websocket-protocol: actioncable-v1-json\r\n\r\n\x81\x02{}";
  const HandshakeResult r = check_upgrade_response(ok, req.expected_accept);
  CHECK(r.status == HandshakeStatus::accepted && r.header_bytes == ok.size() - 4);
  CHECK(check_upgrade_response(ok.substr(0, 40), req.expected_accept).status == HandshakeStatus::incomplete);

  std::string no_protocol = ok;
  no_protocol.erase(no_protocol.find("sec-websocket-protocol"), 43);
  CHECK(check_upgrade_response(no_protocol, req.expected_accept).status == HandshakeStatus::rejected);
  CHECK(check_upgrade_response(ok, "wrong").status == HandshakeStatus::rejected);
  CHECK(check_upgrade_response("HTTP/1.1 404 Not Found\r\n\r\n", req.expected_accept).status ==
        HandshakeStatus::rejected);
}

void ext_handshake_tests() {
  // The extended protocol is offered alone, as @anycable/web does, and only its selection is taken.
  const UpgradeRequest req = make_upgrade_request("127.0.0.1:9", "/cable", false, CableProtocol::ext);
  CHECK(req.bytes.find("\r\nSec-WebSocket-Protocol: actioncable-v1-ext-json\r\n") != std::string::npos);
  CHECK(req.bytes.find("actioncable-v1-json") == std::string::npos);
  const std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      req.expected_accept + "\r\nSec-WebSocket-Protocol: ";
  const std::string ext = head + "actioncable-v1-ext-json\r\n\r\n";
  const std::string plain = head + "actioncable-v1-json\r\n\r\n";
  CHECK(check_upgrade_response(ext, req.expected_accept, false, CableProtocol::ext).status ==
        HandshakeStatus::accepted);
  const HandshakeResult wrong = check_upgrade_response(plain, req.expected_accept, false, CableProtocol::ext);
  CHECK(wrong.status == HandshakeStatus::rejected && wrong.reason.find("actioncable-v1-json") != std::string::npos);
  CHECK(check_upgrade_response(ext, req.expected_accept).status == HandshakeStatus::rejected);  // a plain client
  CHECK(check_upgrade_response(plain, req.expected_accept).status == HandshakeStatus::accepted);
}

void json_tests() {
  std::vector<std::string> keys;
  CHECK(for_each_member(R"( {"a" : 1, "b":{"x":[1,"}"]}, "c":"q\"}" } )",
                        [&](std::string_view k, std::string_view) { keys.emplace_back(k); }));
  CHECK((keys == std::vector<std::string>{"a", "b", "c"}));
  CHECK(!for_each_member(R"({"a":1,)", [](std::string_view, std::string_view) {}));
  CHECK(!for_each_member("[1]", [](std::string_view, std::string_view) {}));
  CHECK(integer_value("-42") == -42 && !integer_value("4.2") && !integer_value("x"));
  CHECK(string_contents(R"("ab")") == "ab" && !string_contents("12"));
}

void cable_tests() {
  CHECK(parse_cable_message(R"({"type":"welcome"})").kind == CableKind::welcome);
  CHECK(parse_cable_message(R"({"type":"ping","message":1795765060})").kind == CableKind::ping);
  CHECK(parse_cable_message(R"({"identifier":"{\"channel\":\"BenchmarkChannel\"}","type":"confirm_subscription"})")
            .kind == CableKind::confirm);
  const CableMessage d = parse_cable_message(R"({"type":"disconnect","reason":"unauthorized","reconnect":false})");
  CHECK(d.kind == CableKind::disconnect && d.reason == "unauthorized");
  const CableMessage m = parse_cable_message(
      R"({"identifier":"{\"channel\":\"BenchmarkChannel\"}","message":{"action":"broadcast","seq":7,"t":123,"pad":"xx"}})");
  CHECK(m.kind == CableKind::message && m.action == "broadcast" && m.seq == 7 && m.t == 123);
  CHECK(parse_cable_message("not json").kind == CableKind::invalid);
  CHECK(!m.positioned() && m.offset == -1);

  // Extended protocol: the broadcast's stream position after its message, as peercable sends it.
  const CableMessage e = parse_cable_message(
      R"({"identifier":"{\"channel\":\"BenchmarkChannel\"}","message":{"action":"broadcast","seq":8,"t":124,)"
      R"("pad":"xx"},"stream_id":"all","epoch":"e1f2","offset":42})");
  CHECK(e.kind == CableKind::message && e.action == "broadcast" && e.seq == 8 && e.t == 124);
  CHECK(e.positioned() && e.stream_id == "all" && e.epoch == "e1f2" && e.offset == 42);
  // A position with a part missing or of the wrong type is no position.
  CHECK(!parse_cable_message(R"({"message":{"seq":1},"stream_id":"all","offset":1})").positioned());
  CHECK(!parse_cable_message(R"({"message":{"seq":1},"stream_id":"all","epoch":"e","offset":"1"})").positioned());
  CHECK(!parse_cable_message(R"({"message":{"seq":1},"stream_id":"all","epoch":"e","offset":1.5})").positioned());
  CHECK(parse_cable_message(R"({"identifier":"x","type":"confirm_history"})").kind == CableKind::history_confirm);
  CHECK(parse_cable_message(R"({"identifier":"x","type":"reject_history"})").kind == CableKind::history_reject);
  CHECK(parse_cable_message(R"({"type":"welcome","sid":"0123"})").kind == CableKind::welcome);

  // What we send must be what Rails expects: data is a JSON string holding the action object.
  const std::string cmd = action_command("echo", 3, 99, "pp");
  CHECK(cmd == R"({"command":"message","identifier":"{\"channel\":\"BenchmarkChannel\"}",)"
               R"("data":"{\"action\":\"echo\",\"seq\":3,\"t\":99,\"pad\":\"pp\"}"})");
  std::string data_raw;
  CHECK(for_each_member(cmd, [&](std::string_view k, std::string_view v) {
    if (k == "data") data_raw = std::string(v);
  }));
  CHECK(!data_raw.empty() && data_raw.front() == '"');

  // Subscribe: plain as @rails/actioncable sends it; extended with @anycable/core's first history request.
  CHECK(subscribe_command() == R"({"command":"subscribe","identifier":"{\"channel\":\"BenchmarkChannel\"}"})");
  CHECK(subscribe_command(CableProtocol::ext, 1764000000) ==
        R"({"command":"subscribe","identifier":"{\"channel\":\"BenchmarkChannel\"}",)"
        R"("history":{"since":1764000000,"streams":{}}})");
  CHECK(subprotocol_name(CableProtocol::plain) == "actioncable-v1-json");
  CHECK(subprotocol_name(CableProtocol::ext) == "actioncable-v1-ext-json");
}

void stream_position_tests() {
  StreamPositions p;
  CHECK(p.see("all", "e1", 5).check == PositionCheck::first);  // whatever came before it is not ours to judge
  CHECK(p.see("all", "e1", 6).check == PositionCheck::next);
  CHECK(p.see("room", "e9", 1).check == PositionCheck::first);  // streams are apart
  CHECK(p.see("all", "e1", 7).check == PositionCheck::next);
  PositionSeen s = p.see("all", "e1", 10);
  CHECK(s.check == PositionCheck::gap && s.skipped == 2);
  CHECK(p.see("all", "e1", 10).check == PositionCheck::duplicate);
  CHECK(p.see("all", "e1", 3).check == PositionCheck::duplicate);
  CHECK(p.see("all", "e1", 11).check == PositionCheck::next);  // a duplicate does not move the position
  CHECK(p.see("room", "e9", 2).check == PositionCheck::next);
  CHECK(p.see("all", "e2", 1).check == PositionCheck::new_epoch);
  CHECK(p.see("all", "e2", 2).check == PositionCheck::next);
  StreamPositions many;
  for (std::size_t i = 0; i < StreamPositions::kMaxStreams; ++i)
    CHECK(many.see(std::to_string(i), "e", 1).check == PositionCheck::first);
  CHECK(many.see("one-too-many", "e", 1).check == PositionCheck::untracked);
  CHECK(many.see("0", "e", 2).check == PositionCheck::next);
}

/// Raw deflate of `text` the way a server does it (RFC 7692 §7.2.1): sync flush, 00 00 ff ff tail removed.
std::string deflate_like_a_server(z_stream& z, const std::string& text) {
  std::string out(text.size() + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_SYNC_FLUSH);
  out.resize(out.size() - z.avail_out);
  if (out.size() >= 4 && out.compare(out.size() - 4, 4, std::string("\0\0\xff\xff", 4)) == 0) out.resize(out.size() - 4);
  return out;
}

void deflate_tests() {
  // The offer is Chromium's.
  const UpgradeRequest req = make_upgrade_request("h:1", "/cable", true);
  CHECK(req.bytes.find("\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n") !=
        std::string::npos);
  CHECK(make_upgrade_request("h:1", "/cable").bytes.find("Sec-WebSocket-Extensions") == std::string::npos);

  // Any valid RFC 7692 answer is taken, whatever the server chose.
  ExtensionCheck e = check_extensions_response("", true);
  CHECK(e.ok && !e.deflate);
  e = check_extensions_response("permessage-deflate", true);
  CHECK(e.ok && e.deflate && !e.deflate->server_no_context_takeover && e.deflate->server_max_window_bits == 15);
  e = check_extensions_response(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; "
      "client_max_window_bits=\"9\"",
      true);
  CHECK(e.ok && e.deflate && e.deflate->server_no_context_takeover && e.deflate->client_no_context_takeover);
  CHECK(e.ok && e.deflate->server_max_window_bits == 10 && e.deflate->client_max_window_bits == 9);
  CHECK(check_extensions_response("PerMessage-Deflate ;Server_No_Context_Takeover", true).ok);
  // And nothing else.
  CHECK(!check_extensions_response("permessage-deflate", false).ok);  // never offered
  CHECK(!check_extensions_response("x-webkit-deflate-frame", true).ok);
  CHECK(!check_extensions_response("permessage-deflate, permessage-deflate", true).ok);
  CHECK(!check_extensions_response("permessage-deflate; server_no_context_takeover; server_no_context_takeover", true).ok);
  CHECK(!check_extensions_response("permessage-deflate; server_max_window_bits=16", true).ok);
  CHECK(!check_extensions_response("permessage-deflate; server_max_window_bits=7", true).ok);
  CHECK(!check_extensions_response("permessage-deflate; server_max_window_bits", true).ok);
  CHECK(!check_extensions_response("permessage-deflate; server_no_context_takeover=1", true).ok);
  CHECK(!check_extensions_response("permessage-deflate; mystery", true).ok);

  // The agreed extension comes back from the handshake.
  const std::string accept = accept_for_key("dGhlIHNhbXBsZSBub25jZQ==");
  const std::string head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: " + accept + "\r\nSec-WebSocket-Protocol: actioncable-v1-json\r\n";
  HandshakeResult hs = check_upgrade_response(
      head + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n", accept, true);
  CHECK(hs.status == HandshakeStatus::accepted && hs.deflate && hs.deflate->server_no_context_takeover);
  hs = check_upgrade_response(head + "\r\n", accept, true);
  CHECK(hs.status == HandshakeStatus::accepted && !hs.deflate);
  hs = check_upgrade_response(head + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", accept, false);
  CHECK(hs.status == HandshakeStatus::rejected);

  // Inflating, with and without the server's context kept between messages.
  const std::string m1 = R"({"identifier":"{\"channel\":\"BenchmarkChannel\"}","message":{"action":"broadcast","seq":1}})";
  const std::string m2 = R"({"identifier":"{\"channel\":\"BenchmarkChannel\"}","message":{"action":"broadcast","seq":2}})";
  for (const bool takeover : {true, false}) {
    z_stream z{};
    deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    MessageInflater inflater(!takeover);
    std::string out;
    const std::string c1 = deflate_like_a_server(z, m1);
    if (!takeover) deflateReset(&z);
    const std::string c2 = deflate_like_a_server(z, m2);
    CHECK(inflater.inflate_message(c1, 1 << 20, out) && out == m1);
    CHECK(inflater.inflate_message(c2, 1 << 20, out) && out == m2);
    if (takeover) CHECK(c2.size() < c1.size());  // the second one refers back to the first
    deflateEnd(&z);
  }
  MessageInflater inflater(true);
  std::string out;
  CHECK(!inflater.inflate_message("\xff\xff\xff\xff", 1 << 20, out));  // corrupt
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  const std::string big = deflate_like_a_server(z, std::string(100000, 'a'));
  deflateEnd(&z);
  CHECK(!inflater.inflate_message(big, 1000, out));                 // over the limit
  CHECK(inflater.inflate_message(big, 1 << 20, out) && out.size() == 100000);  // and usable again after it
}

/// parse_args over `args` (the program name is added); the error text in `error` when it throws.
Options parse(std::initializer_list<const char*> args, std::string* error = nullptr) {
  std::vector<const char*> argv{"peercable-loadgen"};
  argv.insert(argv.end(), args.begin(), args.end());
  try {
    return parse_args(static_cast<int>(argv.size()), argv.data());
  } catch (const OptionError& e) {
    if (error) *error = e.what();
    return Options{};
  }
}

bool rejected(std::initializer_list<const char*> args) {
  std::string error;
  parse(args, &error);
  return !error.empty();
}

void option_tests() {
  // One port, either spelling, as before.
  Options o = parse({"--port", "9001", "--scenario", "sustained", "--rate", "20"});
  CHECK((o.ports == std::vector<int>{9001}) && o.scenario == ScenarioKind::sustained && o.rate == 20);
  CHECK((parse({"--port=9001"}).ports == std::vector<int>{9001}));
  CHECK(o.server_pids.empty() && o.clients == 100 && o.path == "/cable" && !o.help);

  // Several ports: kept in order (the first one gets the broadcaster), repeats allowed.
  CHECK((parse({"--port", "9001,9002"}).ports == std::vector<int>{9001, 9002}));
  CHECK((parse({"--port=9003,9001,9003"}).ports == std::vector<int>{9003, 9001, 9003}));
  CHECK((parse({"--port", "1", "--port", "2,3"}).ports == std::vector<int>{2, 3}));  // the last one counts

  // Server pids: one or several; 0 still means none.
  CHECK((parse({"--port", "1", "--server-pid", "42"}).server_pids == std::vector<int>{42}));
  CHECK((parse({"--port", "1", "--server-pid", "42,43,44"}).server_pids == std::vector<int>{42, 43, 44}));
  CHECK(parse({"--port", "1", "--server-pid", "0"}).server_pids.empty());

  std::string error;
  parse({"--port", "9001,"}, &error);
  CHECK(error.find("--port") != std::string::npos);
  for (const auto& bad : {"", ",", "9001,,9002", ",9001", "0", "65536", "9001,x", "9001 9002", "1.5e9"})
    CHECK(rejected({"--port", bad}));
  CHECK(rejected({}));                      // --port is required
  CHECK(rejected({"--scenario", "echo"}));  // still required
  CHECK(rejected({"--port"}));              // needs a value
  CHECK(rejected({"--port", "1", "--server-pid", "-3"}));
  CHECK(rejected({"--port", "1", "--bogus"}));
  CHECK(rejected({"--port", "1", "--path", "cable"}));
  CHECK(rejected({"--port", "1", "--scenario", "nope"}));

  // --help stops parsing: nothing else is required or checked.
  CHECK(parse({"--help"}).help);
  CHECK(parse({"-h", "--port", "x"}).help);
  CHECK(rejected({"--port", "x", "-h"}));  // what comes before it is still checked
  const std::string usage = usage_text();
  CHECK(usage.find("--port P[,P...]") != std::string::npos);
  CHECK(parse({"--port", "1", "--deflate"}).deflate && !parse({"--port", "1"}).deflate);
  const Options hold = parse({"--port", "1,2", "--scenario", "hold", "--broadcaster"});
  CHECK(hold.scenario == ScenarioKind::hold && hold.broadcaster && hold.ports.size() == 2);
  CHECK(!parse({"--port", "1", "--scenario", "hold"}).broadcaster);
  CHECK(parse({"--port", "1", "--max-pending", "500"}).max_pending == 500);
  CHECK(parse({"--port", "1"}).max_pending == 0);
  CHECK(rejected({"--port", "1", "--max-pending", "-1"}));
  CHECK(parse({"--port", "1"}).protocol == CableProtocol::plain);
  CHECK(parse({"--port", "1", "--protocol", "ext"}).protocol == CableProtocol::ext);
  CHECK(parse({"--port", "1", "--protocol=plain"}).protocol == CableProtocol::plain);
  CHECK(rejected({"--port", "1", "--protocol", "actioncable-v1-ext-json"}));
  CHECK(rejected({"--port", "1", "--protocol"}));
}

void hold_command_tests() {
  HoldCommand c = parse_hold_command("round 7");
  CHECK(c.kind == HoldCommandKind::round && c.seq == 7);
  c = parse_hold_command("  round 0 \r");
  CHECK(c.kind == HoldCommandKind::round && c.seq == 0);
  CHECK(parse_hold_command("round 1000000000").seq == 1'000'000'000);
  CHECK(parse_hold_command("quit").kind == HoldCommandKind::quit);
  CHECK(parse_hold_command("quit\r").kind == HoldCommandKind::quit);
  for (const char* bad : {"", "round", "round ", "round -1", "round 1x", "round 1000000001", "round 99999999999",
                          "rounds 1", "Round 1", "quit now", "stop"})
    CHECK(parse_hold_command(bad).kind == HoldCommandKind::invalid);

  std::string buffer = "round 1\nquit\nrou";
  std::string line;
  CHECK(take_line(buffer, line) && line == "round 1");
  CHECK(take_line(buffer, line) && line == "quit");
  CHECK(!take_line(buffer, line) && buffer == "rou");
  buffer += "nd 2\n";
  CHECK(take_line(buffer, line) && line == "round 2" && buffer.empty());
}

}  // namespace

int main() {
  frame_codec_tests();
  handshake_tests();
  ext_handshake_tests();
  json_tests();
  cable_tests();
  stream_position_tests();
  option_tests();
  deflate_tests();
  hold_command_tests();
  if (failures) {
    std::fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  std::puts("loadgen parser and option checks passed");
  return 0;
}
