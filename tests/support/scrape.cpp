#include "support/scrape.hpp"

#include <sstream>

#include "support/command.hpp"

namespace meshrt::test {

std::string scrape(uint16_t port, const std::string& path) {
  auto r = run_command("curl -s --max-time 5 http://127.0.0.1:" + std::to_string(port) + path);
  return r.exit_code == 0 ? r.out : std::string{};
}

int http_status(uint16_t port, const std::string& path) {
  auto r = run_command("curl -s --max-time 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:"
                       + std::to_string(port) + path);
  return r.out.empty() ? 0 : std::stoi(r.out);
}

double sample(const std::string& text, const std::string& series) {
  std::istringstream lines{text};
  for (std::string line; std::getline(lines, line);)
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0
        && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  return -1;
}

} // namespace meshrt::test
