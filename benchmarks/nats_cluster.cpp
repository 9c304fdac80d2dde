#include "benchmarks/nats_cluster.hpp"

#include <sys/socket.h>

#include <chrono>
#include <stdexcept>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "benchmarks/bench_util.hpp"
#include "benchmarks/child_process.hpp"

namespace meshrt::bench {

nats_cluster::nats_cluster(size_t servers, const std::string& log_prefix) {
  std::vector<uint16_t> client_ports, route_ports;
  for (size_t i = 0; i < servers; ++i) {
    client_ports.push_back(free_port(SOCK_STREAM));
    route_ports.push_back(free_port(SOCK_STREAM));
    monitor_ports_.push_back(free_port(SOCK_STREAM));
  }
  for (size_t i = 0; i < servers; ++i) {
    std::string routes;
    for (size_t j = 0; j < servers; ++j)
      if (j != i)
        routes += (routes.empty() ? "" : ",") + std::string{"nats://127.0.0.1:"}
                  + std::to_string(route_ports[j]);
    std::vector<std::string> args{nats_server_program(),
                                  "-a",
                                  "127.0.0.1",
                                  "-p",
                                  std::to_string(client_ports[i]),
                                  "-m",
                                  std::to_string(monitor_ports_[i]),
                                  "--cluster_name",
                                  "meshrt-bench",
                                  "--cluster",
                                  "nats://127.0.0.1:" + std::to_string(route_ports[i])};
    if (!routes.empty()) {
      args.emplace_back("--routes");
      args.push_back(routes);
    }
    servers_.push_back(
      start_tcp_server(args, log_prefix + std::to_string(i) + ".log", client_ports[i]));
    endpoints_.push_back("127.0.0.1:" + std::to_string(client_ports[i]));
  }
  auto meshed = [&] {
    for (size_t i = 0; i < servers; ++i)
      if (routes(i) < static_cast<int>(servers) - 1)
        return false;
    return true;
  };
  if (!wait_until(meshed, std::chrono::seconds{10}))
    throw std::runtime_error("the nats-server cluster did not form its routes within 10 s: "
                             + servers_.front()->log());
}

nats_cluster::~nats_cluster() = default;

double nats_cluster::cpu_seconds() const {
  return bench::cpu_seconds(servers_);
}

double nats_cluster::rss() const {
  return rss_bytes(servers_);
}

int nats_cluster::routes(size_t i) const {
  httplib::Client monitor{"127.0.0.1", monitor_ports_.at(i)};
  monitor.set_connection_timeout(1);
  monitor.set_read_timeout(1);
  auto res = monitor.Get("/routez");
  if (!res || res->status != 200)
    return -1;
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (j.is_discarded() || !j.contains("num_routes"))
    return -1;
  return j["num_routes"].get<int>();
}

} // namespace meshrt::bench
