#include "transport/udp_socket.hpp"

#include "transport/packet_guard.hpp"

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "transport/wire.hpp"

namespace meshrt::transport {

namespace {

// Room for a datagram a little over the limit, so oversized ones are seen
// (and rejected) rather than silently truncated into something valid.
constexpr size_t rx_slot_size = max_packet_size + 64;
static_assert(rx_slot_size >= max_packet_size + packet_guard::trailer_size,
              "a sealed packet fits a receive slot");
// With receive offload a buffer may hold a whole train: the largest UDP
// payload, and any single datagram fits as well.
constexpr size_t rx_train_slot_size = 65536;
constexpr size_t rx_train_slots = 32;
// A train: at most 64 segments (the kernel's UDP_MAX_SEGMENTS on older
// kernels), and its frame (link, IP and UDP headers and the payload) under
// 64 KiB: a device refuses offload for a frame of its gso_max_size (64 KiB
// on loopback and most NICs) and the kernel then cuts the train in software
// and delivers its datagrams one by one. Payloads up to the largest UDP
// payload (65,507 bytes) did so for runs that filled it, such as 50 sealed
// packets of 1,310 bytes: the 64-byte messages of `bench transport` with a
// cluster key.
constexpr size_t max_train_segments = 64;
constexpr size_t max_train_bytes = 65536 - 64;
// Packets per sendmmsg when trains are sent.
constexpr size_t max_send_iov = 256;
constexpr int socket_buffer_bytes = 8 * 1024 * 1024;

void set_buffer(int fd, int force_opt, int opt) {
  int size = socket_buffer_bytes;
  // As root the FORCE variant passes the system's rmem_max / wmem_max.
  if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) != 0)
    setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

/// True if the kernel knows UDP_SEGMENT (asking for a segment size of 0,
/// "no segmentation", changes nothing).
bool kernel_segments(int fd) {
  int none = 0;
  return setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &none, sizeof(none)) == 0;
}

bool enable_coalescing(int fd) {
  int one = 1;
  return setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
}

/// ICMP errors for the datagrams the socket sent come back to it (an
/// unconnected UDP socket hears of none otherwise).
void enable_error_reports(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
}

/// Most distinct refused destinations kept between two take_unreachable().
constexpr size_t max_unreachable = 64;

/// An error that an ICMP report for an earlier datagram (IP_RECVERR) left
/// on the socket: the next send call fails with it once, whatever its
/// destination, and taking it clears it. The receive side reads the report
/// itself from the error queue.
bool left_by_a_report(int e) {
  return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN
         || e == EPROTO;
}

/// Send calls one batch may repeat after such a failure (each report fails
/// one call; a few may arrive while it sends).
constexpr int max_report_retries = 4;

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
      result.segmentation_.store(kernel_segments(fd));
      result.coalescing_ = enable_coalescing(fd);
      enable_error_reports(fd);
      result.rx_slots_ = result.coalescing_ ? rx_train_slots : max_batch;
      result.rx_slot_size_ = result.coalescing_ ? rx_train_slot_size : rx_slot_size;
      // Not value-initialised: pages the kernel never writes stay unmapped.
      result.rx_buffers_.reset(new uint8_t[result.rx_slots_ * result.rx_slot_size_]);
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

udp_socket::udp_socket(udp_socket&& other) noexcept {
  *this = std::move(other);
}

udp_socket& udp_socket::operator=(udp_socket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    local_ = other.local_;
    segmentation_.store(other.segmentation_.load());
    coalescing_ = other.coalescing_;
    batch_was_full_ = other.batch_was_full_;
    buffers_received_ = other.buffers_received_;
    rx_slots_ = other.rx_slots_;
    rx_slot_size_ = other.rx_slot_size_;
    rx_buffers_ = std::move(other.rx_buffers_);
    rx_views_ = std::move(other.rx_views_);
    unreachable_ = std::move(other.unreachable_);
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
  if (!sends_trains())
    return send_each(&sa, packets, sizes, count);
  mmsghdr msgs[max_batch];
  size_t train_length[max_batch];
  iovec iov[max_send_iov];
  alignas(cmsghdr) uint8_t control[max_batch][CMSG_SPACE(sizeof(uint16_t))];
  size_t sent = 0;
  int retries = 0;
  while (sent < count) {
    // Trains of consecutive packets of one size; the last packet of a train
    // may be shorter (the kernel cuts the buffer into segments of the first
    // size and the rest).
    size_t trains = 0;
    size_t used_iov = 0;
    for (size_t next = sent; next < count && trains < max_batch && used_iov < max_send_iov;) {
      auto segment = sizes[next];
      auto limit = std::min({max_train_segments, max_train_bytes / std::max<size_t>(segment, 1),
                             max_send_iov - used_iov});
      size_t k = 1;
      while (k < limit && next + k < count && sizes[next + k - 1] == segment
             && sizes[next + k] <= segment)
        ++k;
      auto& hdr = msgs[trains].msg_hdr;
      msgs[trains] = mmsghdr{};
      hdr.msg_name = &sa;
      hdr.msg_namelen = sizeof(sa);
      hdr.msg_iov = &iov[used_iov];
      hdr.msg_iovlen = k;
      for (size_t i = 0; i < k; ++i)
        iov[used_iov + i] = {const_cast<uint8_t*>(packets[next + i]), sizes[next + i]};
      if (k > 1) {
        hdr.msg_control = control[trains];
        hdr.msg_controllen = sizeof(control[trains]);
        auto* cm = CMSG_FIRSTHDR(&hdr);
        cm->cmsg_level = IPPROTO_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        auto segment_size = static_cast<uint16_t>(segment);
        std::memcpy(CMSG_DATA(cm), &segment_size, sizeof(segment_size));
      }
      train_length[trains++] = k;
      used_iov += k;
      next += k;
    }
    int rc = sendmmsg(fd_, msgs, static_cast<unsigned>(trains), 0);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc < 0 && left_by_a_report(errno) && retries++ < max_report_retries)
      continue; // another destination's report, not this batch's failure
    if (rc < 0 && (errno == EIO || errno == EINVAL) && train_length[0] > 1) {
      // This route cannot segment (no checksum offload, or a kernel limit):
      // from now on every packet goes as a datagram of its own.
      disable_segmentation();
      return sent + send_each(&sa, packets + sent, sizes + sent, count - sent);
    }
    if (rc <= 0)
      return sent; // a full send buffer drops the rest; the protocol sees loss
    for (int i = 0; i < rc; ++i)
      sent += train_length[i];
  }
  return sent;
}

size_t udp_socket::send_each(const void* sa, const uint8_t* const* packets, const size_t* sizes,
                             size_t count) {
  mmsghdr msgs[max_batch];
  iovec iov[max_batch];
  size_t sent = 0;
  int retries = 0;
  while (sent < count) {
    size_t n = std::min(count - sent, max_batch);
    for (size_t i = 0; i < n; ++i) {
      iov[i].iov_base = const_cast<uint8_t*>(packets[sent + i]);
      iov[i].iov_len = sizes[sent + i];
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_name = const_cast<void*>(sa);
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int rc = sendmmsg(fd_, msgs, static_cast<unsigned>(n), 0);
    if (rc <= 0) {
      if (rc < 0 && errno == EINTR)
        continue;
      if (rc < 0 && left_by_a_report(errno) && retries++ < max_report_retries)
        continue; // another destination's report, not this batch's failure
      // A full send buffer drops the rest; the protocol treats it as loss.
      return sent;
    }
    sent += static_cast<size_t>(rc);
  }
  return sent;
}

const std::vector<datagram_view>& udp_socket::receive_batch() {
  rx_views_.clear();
  int rc = receive_into_views();
  if (rc < 0) {
    // An ICMP error for a datagram we sent (IP_RECVERR) fails one receive
    // call; its details wait in the error queue, and the datagrams that
    // arrived are still queued behind it. A wake-up that found nothing
    // looks there too, so that no report is left to keep the socket
    // signalled (EPOLLERR).
    bool failed = errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    take_errors();
    if (failed)
      receive_into_views();
  }
  return rx_views_;
}

int udp_socket::receive_into_views() {
  mmsghdr msgs[max_batch];
  iovec iov[max_batch];
  sockaddr_in from[max_batch];
  alignas(cmsghdr) uint8_t control[max_batch][CMSG_SPACE(sizeof(int))];
  for (size_t i = 0; i < rx_slots_; ++i) {
    iov[i].iov_base = rx_buffers_.get() + i * rx_slot_size_;
    iov[i].iov_len = rx_slot_size_;
    msgs[i] = mmsghdr{};
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    if (coalescing_) {
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = sizeof(control[i]);
    }
  }
  int rc = recvmmsg(fd_, msgs, static_cast<unsigned>(rx_slots_), MSG_DONTWAIT, nullptr);
  batch_was_full_ = rc == static_cast<int>(rx_slots_);
  if (rc > 0)
    buffers_received_ += static_cast<uint64_t>(rc);
  for (int i = 0; i < rc; ++i) {
    auto& hdr = msgs[i].msg_hdr;
    if (hdr.msg_namelen != sizeof(sockaddr_in))
      continue;
    auto sender = endpoint::from_sockaddr(from[i]);
    const auto* data = static_cast<const uint8_t*>(iov[i].iov_base);
    // A datagram cut by MSG_TRUNC is larger than any valid packet: keep
    // its true length so the decoder rejects it as too long.
    size_t size = (hdr.msg_flags & MSG_TRUNC) != 0 ? rx_slot_size_ : msgs[i].msg_len;
    // A train comes with the size of its datagrams; each but the last has
    // exactly that size.
    size_t segment = 0;
    for (auto* cm = coalescing_ ? CMSG_FIRSTHDR(&hdr) : nullptr; cm != nullptr;
         cm = CMSG_NXTHDR(&hdr, cm)) {
      if (cm->cmsg_level == IPPROTO_UDP && cm->cmsg_type == UDP_GRO) {
        int value = 0;
        std::memcpy(&value, CMSG_DATA(cm), sizeof(value));
        segment = value > 0 ? static_cast<size_t>(value) : 0;
      }
    }
    if (segment == 0 || segment >= size) {
      rx_views_.push_back({sender, data, size});
      continue;
    }
    for (size_t offset = 0; offset < size; offset += segment)
      rx_views_.push_back({sender, data + offset, std::min(segment, size - offset)});
  }
  return rc;
}

void udp_socket::take_errors() {
  // Until it is empty (bounded: the socket's buffer bounds the queue).
  for (size_t i = 0; i < 4096; ++i) {
    sockaddr_in offender{};
    uint8_t payload[64];
    iovec iov{payload, sizeof(payload)};
    alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(sock_extended_err) + sizeof(sockaddr_in))];
    msghdr hdr{};
    hdr.msg_name = &offender; // where the datagram that failed was going
    hdr.msg_namelen = sizeof(offender);
    hdr.msg_iov = &iov;
    hdr.msg_iovlen = 1;
    hdr.msg_control = control;
    hdr.msg_controllen = sizeof(control);
    if (recvmsg(fd_, &hdr, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
      return;
    for (auto* cm = CMSG_FIRSTHDR(&hdr); cm != nullptr; cm = CMSG_NXTHDR(&hdr, cm)) {
      if (cm->cmsg_level != IPPROTO_IP || cm->cmsg_type != IP_RECVERR)
        continue;
      sock_extended_err ee{};
      std::memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
      bool refused = ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_errno == ECONNREFUSED;
      if (!refused || hdr.msg_namelen != sizeof(sockaddr_in))
        continue;
      auto to = endpoint::from_sockaddr(offender);
      if (unreachable_.size() < max_unreachable
          && std::find(unreachable_.begin(), unreachable_.end(), to) == unreachable_.end())
        unreachable_.push_back(to);
    }
  }
}

} // namespace meshrt::transport
