#include "dm/client_protocol.hpp"

#include "transport/byte_codec.hpp"

namespace meshrt {

using transport::byte_reader;
using transport::byte_writer;
using transport::load16;
using transport::load32;
using transport::store32;

namespace {

bool known(uint8_t cmd) {
  switch (static_cast<client_cmd>(cmd)) {
    case client_cmd::login:
    case client_cmd::send:
    case client_cmd::clear:
    case client_cmd::login_ok:
    case client_cmd::send_result:
    case client_cmd::message:
    case client_cmd::peer_gone:
    case client_cmd::error:
    case client_cmd::closed:
      return true;
  }
  return false;
}

byte_buffer rest_of(byte_reader& r) {
  return r.ok() ? r.rest() : byte_buffer{};
}

} // namespace

const char* to_string(gateway_errc code) {
  switch (code) {
    case gateway_errc::malformed:
      return "malformed";
    case gateway_errc::frame_too_large:
      return "frame_too_large";
    case gateway_errc::unknown_command:
      return "unknown_command";
    case gateway_errc::not_logged_in:
      return "not_logged_in";
    case gateway_errc::bad_user_id:
      return "bad_user_id";
    case gateway_errc::login_failed:
      return "login_failed";
    case gateway_errc::already_logged_in:
      return "already_logged_in";
    case gateway_errc::bad_version:
      return "bad_version";
    case gateway_errc::login_timeout:
      return "login_timeout";
    case gateway_errc::bad_token:
      return "bad_token";
    case gateway_errc::too_many_connections:
      return "too_many_connections";
  }
  return "unknown_error";
}

byte_buffer encode(const client_frame& f) {
  byte_writer w{client_header_size + 16 + f.user.size() + f.token.size() + f.message.size()};
  w.u32(0); // the length, written last
  w.u8(client_protocol_version);
  w.u8(static_cast<uint8_t>(f.cmd));
  w.u16(f.flags);
  switch (f.cmd) {
    case client_cmd::login:
      w.str16(f.user);
      w.str16(f.token);
      break;
    case client_cmd::closed:
      w.str16(f.user);
      break;
    case client_cmd::send:
      w.u32(f.seq);
      w.str16(f.user);
      w.u8(f.ver);
      w.u16(f.dm_cmd);
      w.bytes(f.message);
      break;
    case client_cmd::clear:
    case client_cmd::message:
      w.str16(f.user);
      w.u8(f.ver);
      w.u16(f.dm_cmd);
      w.bytes(f.message);
      break;
    case client_cmd::login_ok:
      break;
    case client_cmd::send_result:
      w.u32(f.seq);
      w.u8(f.code);
      w.str16(f.user);
      break;
    case client_cmd::peer_gone:
      w.str16(f.user);
      w.bytes(f.message);
      break;
    case client_cmd::error:
      w.u8(f.code);
      w.str16(f.user);
      break;
  }
  auto out = w.take();
  store32(out.data(), static_cast<uint32_t>(out.size() - client_header_size));
  return out;
}

std::optional<client_frame> decode_client_payload(client_cmd cmd, byte_view payload) {
  byte_reader r{payload};
  client_frame f;
  f.cmd = cmd;
  switch (cmd) {
    case client_cmd::login:
      f.user = r.str16();
      if (r.ok() && !r.at_end())
        f.token = r.str16();
      break;
    case client_cmd::closed:
      f.user = r.str16();
      break;
    case client_cmd::send:
      f.seq = r.u32();
      f.user = r.str16();
      f.ver = r.u8();
      f.dm_cmd = r.u16();
      f.message = rest_of(r);
      break;
    case client_cmd::clear:
    case client_cmd::message:
      f.user = r.str16();
      f.ver = r.u8();
      f.dm_cmd = r.u16();
      f.message = rest_of(r);
      break;
    case client_cmd::login_ok:
      break;
    case client_cmd::send_result:
      f.seq = r.u32();
      f.code = r.u8();
      f.user = r.str16();
      break;
    case client_cmd::peer_gone:
      f.user = r.str16();
      f.message = rest_of(r);
      break;
    case client_cmd::error:
      f.code = r.u8();
      f.user = r.str16();
      break;
    default:
      return std::nullopt;
  }
  if (!r.ok() || !r.at_end())
    return std::nullopt;
  return f;
}

void frame_reader::feed(const void* data, size_t size) {
  if (error_)
    return;
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  auto p = static_cast<const uint8_t*>(data);
  buf_.insert(buf_.end(), p, p + size);
}

void frame_reader::fail(gateway_errc code, std::string text) {
  error_ = code;
  error_text_ = std::move(text);
  buf_.clear();
  pos_ = 0;
}

std::optional<client_frame> frame_reader::next() {
  if (error_ || buffered() < client_header_size)
    return std::nullopt;
  const uint8_t* h = buf_.data() + pos_;
  auto length = load32(h);
  auto version = h[4];
  auto cmd = h[5];
  auto flags = load16(h + 6);
  if (version != client_protocol_version) {
    fail(gateway_errc::bad_version, "protocol version " + std::to_string(version) + ", not "
                                      + std::to_string(client_protocol_version));
    return std::nullopt;
  }
  if (!known(cmd)) {
    fail(gateway_errc::unknown_command, "unknown frame cmd " + std::to_string(cmd));
    return std::nullopt;
  }
  if (length > max_payload_) {
    fail(gateway_errc::frame_too_large, "a frame of " + std::to_string(length) + " bytes; at most "
                                          + std::to_string(max_payload_));
    return std::nullopt;
  }
  if (buffered() < client_header_size + length)
    return std::nullopt;
  auto f = decode_client_payload(static_cast<client_cmd>(cmd),
                                 byte_view{h + client_header_size, length});
  pos_ += client_header_size + length;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > size_t{64} * 1024 && pos_ * 2 > buf_.size()) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
    pos_ = 0;
  }
  if (!f) {
    fail(gateway_errc::malformed,
         "a cmd " + std::to_string(cmd) + " frame whose payload does not decode");
    return std::nullopt;
  }
  f->flags = flags;
  return f;
}

} // namespace meshrt
