#include "transport/udp_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "transport/wire.hpp"

namespace meshrt::transport {

namespace {

// Room for a datagram a little over the limit, so oversized ones are seen
// (and rejected) rather than silently truncated into something valid.
constexpr size_t rx_slot_size = max_packet_size + 64;
constexpr int socket_buffer_bytes = 8 * 1024 * 1024;

void set_buffer(int fd, int force_opt, int opt) {
  int size = socket_buffer_bytes;
  // As root the FORCE variant passes the system's rmem_max / wmem_max.
  if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) != 0)
    setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

} // namespace

udp_socket udp_socket::bind_scan(const std::string& address, uint16_t first_port, int attempts) {
  in_addr addr{};
  if (inet_pton(AF_INET, address.c_str(), &addr) != 1)
    throw std::runtime_error("cannot bind mesh socket: '" + address + "' is not an IPv4 address");
  int last_errno = 0;
  uint32_t port = first_port;
  for (int i = 0; i < attempts && port <= 65535; ++i, ++port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
      throw std::runtime_error(std::string{"cannot create UDP socket: "} + std::strerror(errno));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr = addr;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) {
      set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
      set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
      udp_socket result;
      result.fd_ = fd;
      sockaddr_in bound{};
      socklen_t len = sizeof(bound);
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      result.local_ = endpoint::from_sockaddr(bound);
      result.rx_buffers_.resize(max_batch * rx_slot_size);
      result.rx_views_.reserve(max_batch);
      return result;
    }
    last_errno = errno;
    close(fd);
    if (last_errno != EADDRINUSE)
      break;
  }
  throw std::runtime_error("cannot bind mesh socket on " + address + " ports "
                           + std::to_string(first_port) + "-" + std::to_string(port - 1) + ": "
                           + std::strerror(last_errno));
}

udp_socket::udp_socket(udp_socket&& other) noexcept :
  fd_(other.fd_), local_(other.local_), rx_buffers_(std::move(other.rx_buffers_)),
  rx_views_(std::move(other.rx_views_)) {
  other.fd_ = -1;
}

udp_socket& udp_socket::operator=(udp_socket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      close(fd_);
    fd_ = other.fd_;
    local_ = other.local_;
    rx_buffers_ = std::move(other.rx_buffers_);
    rx_views_ = std::move(other.rx_views_);
    other.fd_ = -1;
  }
  return *this;
}

udp_socket::~udp_socket() {
  if (fd_ >= 0)
    close(fd_);
}

size_t udp_socket::send_batch(const endpoint& to, const uint8_t* const* packets,
                              const size_t* sizes, size_t count) {
  sockaddr_in sa{};
  to.to_sockaddr(sa);
  mmsghdr msgs[max_batch];
  iovec iov[max_batch];
  size_t sent = 0;
  while (sent < count) {
    size_t n = std::min(count - sent, max_batch);
    for (size_t i = 0; i < n; ++i) {
      iov[i].iov_base = const_cast<uint8_t*>(packets[sent + i]);
      iov[i].iov_len = sizes[sent + i];
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_name = &sa;
      msgs[i].msg_hdr.msg_namelen = sizeof(sa);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int rc = sendmmsg(fd_, msgs, static_cast<unsigned>(n), 0);
    if (rc <= 0) {
      if (rc < 0 && errno == EINTR)
        continue;
      // A full send buffer drops the rest; the protocol treats it as loss.
      return sent;
    }
    sent += static_cast<size_t>(rc);
  }
  return sent;
}

const std::vector<datagram_view>& udp_socket::receive_batch() {
  rx_views_.clear();
  mmsghdr msgs[max_batch];
  iovec iov[max_batch];
  sockaddr_in from[max_batch];
  for (size_t i = 0; i < max_batch; ++i) {
    iov[i].iov_base = rx_buffers_.data() + i * rx_slot_size;
    iov[i].iov_len = rx_slot_size;
    msgs[i] = mmsghdr{};
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int rc = recvmmsg(fd_, msgs, max_batch, MSG_DONTWAIT, nullptr);
  for (int i = 0; i < rc; ++i) {
    if (msgs[i].msg_hdr.msg_namelen != sizeof(sockaddr_in))
      continue;
    // A datagram cut by MSG_TRUNC is larger than any valid packet: keep
    // its true length so the decoder rejects it as too long.
    size_t size = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 ? rx_slot_size : msgs[i].msg_len;
    rx_views_.push_back({endpoint::from_sockaddr(from[i]),
                         rx_buffers_.data() + static_cast<size_t>(i) * rx_slot_size, size});
  }
  return rx_views_;
}

} // namespace meshrt::transport
